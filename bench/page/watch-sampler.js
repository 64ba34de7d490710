// Injected by the bench into the product's watch page (/watch/<id>, loaded
// from the edge; the page's own CSP is bypassed for this script only, through
// the browser context). It adds nothing to the player: it reads the frame
// number barcode off the <video> the page plays (bench/page/barcode.js, loaded
// first) and the player's published state (window.__player, web/player), and
// answers window.__bench.sample() in the bench player's shape.
(function () {
  "use strict";
  var canvas = document.createElement("canvas");
  var ctx = canvas.getContext("2d", { willReadFrequently: true });
  var errors = [];

  function readFrame(video) {
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
      var video = document.querySelector("video");
      var p = window.__player || null;
      var frame = null;
      try {
        frame = video ? readFrame(video) : null;
      } catch (e) {
        errors.push("read: " + e.message);
        if (errors.length > 20) errors.shift();
      }
      // __player is refreshed every tick (100 ms): bring its program time to now at the current rate.
      var pdt = null;
      if (p && typeof p.programDateTime === "number") {
        pdt = p.programDateTime + (p.playing ? (now - p.sampledAt) * (video ? video.playbackRate : 1) : 0);
      }
      return {
        now: now,
        frame: frame,
        width: video ? video.videoWidth : 0,
        height: video ? video.videoHeight : 0,
        currentTime: video ? video.currentTime : 0,
        playing: !!video && !video.paused && video.readyState > 2,
        programDateTime: pdt,
        level: p ? p.level : -1,
        hlsLatency: p ? p.latency : null,
        stalls: p ? p.stalls : 0,
        playbackRate: video ? video.playbackRate : 1,
        offsetToTarget: p ? p.offsetToTarget : null,
        syncState: p ? p.syncState : "off",
        targetDelay: p ? p.targetDelay : null,
        player: "watch page" + (p && p.sync ? " (sync on)" : " (sync off)"),
        fatal: p
          ? p.errors.filter(function (e) {
              return e.fatal;
            }).length
          : 0,
        errors: (p
          ? p.errors.slice(-5).map(function (e) {
              return e.details + (e.fatal ? " (fatal)" : "");
            })
          : []
        ).concat(errors.slice(-2)),
      };
    },
  };
})();
