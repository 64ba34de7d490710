// Replay page for /replay/<streamId>. Loaded after /vendor/hls.min.js; plays
// through the shared player module (/player/player.js, window.EdgePlayer, built
// from web/player/), loaded on demand, as a VOD player (no clock, no sync).
// Maps the video's playhead to an offset from stream start (EXT-X-PROGRAM-DATE-TIME
// of the VOD playlist vs the stream's startedAt), fetches the log in 30 s windows
// (the next one 10 s before the end of the current one, again after a seek) and
// shows every chat frame and the scorebug state whose offsetMs ≤ the playhead.
// window.__replay (serializable) for browser tests:
// { streamId, ready, offsetMs, startedAt, chat: [{seq, offsetMs, text}], score, windows: [from...], errors }
(function () {
  "use strict";
  var WINDOW_MS = 30000;
  var PREFETCH_MS = 10000;
  var root = document.getElementById("replay");
  var video = document.getElementById("video");
  var status = document.getElementById("status");
  var chatList = document.getElementById("chat");
  var scorebug = document.getElementById("scorebug");
  var streamId = root.getAttribute("data-stream-id");
  var state = { streamId: streamId, ready: false, offsetMs: null, startedAt: null, chat: [], score: null, windows: [], errors: [] };
  window.__replay = state;
  var info = null;
  var hls = null;
  var firstPdt = null; // program date time (ms) of the first segment
  var windows = {}; // window index -> "loading" | frames[]
  var shownSeq = -1;

  // The page HTML (workers/replay.ts) only names this script: load the shared module from here.
  function loadPlayerModule() {
    return new Promise(function (resolve, reject) {
      if (window.EdgePlayer) return resolve(window.EdgePlayer);
      var script = document.createElement("script");
      script.src = "/player/player.js";
      script.onload = function () {
        if (window.EdgePlayer) resolve(window.EdgePlayer);
        else reject(new Error("player module missing"));
      };
      script.onerror = function () {
        reject(new Error("player module failed to load"));
      };
      document.head.appendChild(script);
    });
  }

  function offsetNow() {
    if (hls && hls.playingDate) return hls.playingDate.getTime() - info.startedAt;
    if (firstPdt !== null) return firstPdt + video.currentTime * 1000 - info.startedAt;
    return video.currentTime * 1000;
  }

  function loadWindow(index) {
    if (index < 0 || windows[index] !== undefined) return;
    windows[index] = "loading";
    var from = index * WINDOW_MS;
    var url = info.logUrl.replace("{from}", String(from)).replace("{to}", String(from + WINDOW_MS));
    fetch(url)
      .then(function (r) {
        if (!r.ok) throw new Error("log " + r.status);
        return r.json();
      })
      .then(function (body) {
        windows[index] = body.frames;
        state.windows.push(from);
        render(true);
      })
      .catch(function (e) {
        delete windows[index];
        state.errors.push(String(e));
      });
  }

  function ensureWindows(offset) {
    var index = Math.max(0, Math.floor(offset / WINDOW_MS));
    loadWindow(index);
    if (offset >= (index + 1) * WINDOW_MS - PREFETCH_MS) loadWindow(index + 1);
  }

  function framesUpTo(offset) {
    var out = [];
    Object.keys(windows).forEach(function (k) {
      var frames = windows[k];
      if (frames === "loading") return;
      for (var i = 0; i < frames.length; i++) if (frames[i].offsetMs <= offset) out.push(frames[i]);
    });
    out.sort(function (a, b) {
      return a.seq - b.seq;
    });
    return out;
  }

  function applyScore(score, frame) {
    if (frame.type === "event_snapshot" && frame.event) {
      return { home: frame.event.home, away: frame.event.away, status: frame.event.status, clock: frame.event.clock };
    }
    if (frame.type === "event_update" && frame.changes) return mergeChanges(score || {}, frame.changes);
    return score;
  }

  // An event_update carries only what changed, nested objects as partial
  // objects at any depth (workers/events/diff.ts): merge them recursively.
  function isPlainObject(v) {
    return v !== null && typeof v === "object" && !Array.isArray(v);
  }
  function mergeChanges(prev, changes) {
    var next = Object.assign({}, prev);
    Object.keys(changes).forEach(function (k) {
      var v = changes[k];
      next[k] = isPlainObject(v) && isPlainObject(next[k]) ? mergeChanges(next[k], v) : v;
    });
    return next;
  }

  function render(force) {
    if (!info) return;
    var offset = offsetNow();
    state.offsetMs = offset;
    ensureWindows(offset);
    var frames = framesUpTo(offset);
    var last = frames.length ? frames[frames.length - 1].seq : -1;
    if (!force && last === shownSeq) return;
    shownSeq = last;
    var chat = [];
    var score = null;
    frames.forEach(function (f) {
      if (f.type === "chat") chat.push({ seq: f.seq, offsetMs: f.offsetMs, text: f.text, from: f.from && f.from.id });
      score = applyScore(score, f);
    });
    state.chat = chat;
    state.score = score;
    chatList.textContent = "";
    chat.slice(-100).forEach(function (m) {
      var li = document.createElement("li");
      li.textContent = m.text;
      chatList.appendChild(li);
    });
    scorebug.textContent =
      score && score.home && score.away
        ? (score.home.name || "home") +
          " " +
          (score.home.score ?? "") +
          " – " +
          (score.away.score ?? "") +
          " " +
          (score.away.name || "away") +
          (score.clock ? " · " + score.clock : "")
        : "";
    status.textContent = "replay · offset " + (offset / 1000).toFixed(1) + " s";
  }

  fetch("/api/streams/" + encodeURIComponent(streamId) + "/replay")
    .then(function (r) {
      if (!r.ok) throw new Error("replay " + r.status);
      return r.json();
    })
    .then(function (body) {
      return loadPlayerModule().then(function (EdgePlayer) {
        return { body: body, EdgePlayer: EdgePlayer };
      });
    })
    .then(function (loaded) {
      var body = loaded.body;
      info = body;
      state.startedAt = body.startedAt;
      // hls.js when supported, else native HLS (video.src), chosen by the shared module
      hls = loaded.EdgePlayer.createPlayer({ video: video, src: body.vodUrl, streamId: streamId, live: false }).hls;
      if (hls) {
        hls.on(window.Hls.Events.LEVEL_LOADED, function (_e, data) {
          var frags = data.details && data.details.fragments;
          if (frags && frags.length && typeof frags[0].programDateTime === "number") firstPdt = frags[0].programDateTime;
        });
        hls.on(window.Hls.Events.ERROR, function (_e, data) {
          state.errors.push(data.details);
        });
      }
      state.ready = true;
      video.addEventListener("seeking", function () {
        render(true);
      });
      video.addEventListener("timeupdate", function () {
        render(false);
      });
      setInterval(function () {
        render(false);
      }, 250);
      render(true);
      var p = video.play();
      if (p && p.catch) p.catch(function () {});
    })
    .catch(function (e) {
      state.errors.push(String(e));
      status.textContent = "Replay not available";
    });
})();
