// Bench player: plain hls.js (the version the product vendors) pointed at
// ?src=<master playlist> of either system; the product's own player is
// measured on its watch page instead (bench/page/watch-sampler.js).
//   ?mode=standard (default): { lowLatencyMode: false, liveSyncDurationCount: 2 },
//     the config the old watch page used, for our standard-HLS figures and the peer;
//   ?mode=ll: { lowLatencyMode: true }, stock hls.js LL-HLS (no sync controller).
// window.__bench.sample() reads the frame number barcode off the frame being
// displayed right now.
(function () {
  "use strict";
  var params = new URLSearchParams(location.search);
  var src = params.get("src");
  var mode = params.get("mode") === "ll" ? "ll" : "standard";
  var config = mode === "ll" ? { lowLatencyMode: true } : { lowLatencyMode: false, liveSyncDurationCount: 2 };
  var video = document.getElementById("video");
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var state = { src: src, errors: [], fatal: 0, stalls: 0, started: Date.now() };
  var hls = null;

  if (window.Hls && window.Hls.isSupported()) {
    hls = new window.Hls(config);
    hls.on(window.Hls.Events.ERROR, function (_e, data) {
      state.errors.push(data.details + (data.fatal ? " (fatal)" : ""));
      if (state.errors.length > 20) state.errors.shift();
      if (data.fatal) {
        state.fatal++;
        if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  }
  video.addEventListener("waiting", function () {
    state.stalls++;
  });
  video.play().catch(function () {});

  function readFrame() {
    var w = video.videoWidth;
    var h = video.videoHeight;
    if (!w || !h || video.readyState < 2) return null;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.drawImage(video, 0, 0, w, h);
    return window.BenchBarcode.decode(ctx.getImageData(0, 0, w, h).data, w, h);
  }

  window.__bench = {
    sample: function () {
      var now = Date.now();
      var frame = null;
      try {
        frame = readFrame();
      } catch (e) {
        state.errors.push("read: " + e.message);
      }
      var pdt = hls && hls.playingDate ? hls.playingDate.getTime() : null;
      return {
        now: now,
        frame: frame,
        width: video.videoWidth,
        height: video.videoHeight,
        currentTime: video.currentTime,
        playing: !video.paused && video.readyState > 2,
        programDateTime: pdt,
        level: hls ? hls.currentLevel : -1,
        hlsLatency: hls && typeof hls.latency === "number" && isFinite(hls.latency) ? hls.latency : null,
        stalls: state.stalls,
        playbackRate: video.playbackRate,
        offsetToTarget: null,
        syncState: "off",
        targetDelay: null,
        player: "hls.js " + mode,
        fatal: state.fatal,
        errors: state.errors.slice(-5),
      };
    },
  };
})();
