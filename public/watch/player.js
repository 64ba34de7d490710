// Player for /watch/<streamId>. Loaded after /vendor/hls.min.js (global Hls).
// Exposes window.__player for browser tests: plain, serializable values only
// { streamId, src, engine, currentTime, latency, level, levels, playing,
//   buffered, programDateTime, errors }, refreshed every 250 ms.
(function () {
  "use strict";
  var root = document.getElementById("player");
  var video = document.getElementById("video");
  var status = document.getElementById("status");
  var src = root.getAttribute("data-src");
  var state = {
    streamId: root.getAttribute("data-stream-id"),
    src: src,
    engine: null,
    currentTime: 0,
    latency: null,
    level: -1,
    levels: 0,
    playing: false,
    buffered: 0,
    programDateTime: null,
    errors: [],
  };
  window.__player = state;

  function setStatus(text) {
    status.textContent = text;
  }

  function sample(hls) {
    state.currentTime = video.currentTime;
    state.playing = !video.paused && video.readyState > 2;
    var b = video.buffered;
    state.buffered = b.length ? b.end(b.length - 1) - video.currentTime : 0;
    if (hls) {
      state.latency = typeof hls.latency === "number" && isFinite(hls.latency) ? hls.latency : null;
      state.level = hls.currentLevel;
      state.levels = hls.levels ? hls.levels.length : 0;
      var pdt = hls.playingDate;
      state.programDateTime = pdt ? pdt.getTime() : null;
    }
    setStatus(
      (state.playing ? "playing" : "waiting") +
        " · t=" + state.currentTime.toFixed(2) +
        (state.latency !== null ? " · latency " + state.latency.toFixed(2) + " s" : "") +
        (state.level >= 0 ? " · level " + state.level : ""),
    );
  }

  if (window.Hls && window.Hls.isSupported()) {
    state.engine = "hls.js";
    var hls = new window.Hls({ lowLatencyMode: true, liveSyncDurationCount: 2 });
    hls.on(window.Hls.Events.ERROR, function (_event, data) {
      state.errors.push({ type: data.type, details: data.details, fatal: !!data.fatal });
      if (state.errors.length > 50) state.errors.shift();
      if (data.fatal) {
        if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
    setInterval(function () { sample(hls); }, 250);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    state.engine = "native";
    video.src = src;
    setInterval(function () { sample(null); }, 250);
  } else {
    setStatus("This browser cannot play HLS.");
  }
  video.play().catch(function () {});
})();
