(function () {
  "use strict";
  var token = new URLSearchParams(location.search).get("token") || "";
  var frame = document.getElementById("deck");
  var status = document.getElementById("status");
  var failure = document.getElementById("failure");
  var panel = document.getElementById("problems");
  var state = null, shownDeck = -1, hooked = null, place = "", loadedPlace = "";

  function reveal() {
    try { return frame.contentWindow && frame.contentWindow.Reveal; } catch (e) { return null; }
  }
  function currentSlide() {
    var r = reveal();
    if (r && r.isReady && r.isReady()) { return r.getIndices().h + 1; }
    return null;
  }
  function remember() {
    // where the reader is (slide and fragment), kept from the deck's own events: a frame still loading has none
    var r = reveal();
    if (r && r.isReady && r.isReady()) {
      var i = r.getIndices();
      place = "#/" + i.h + (i.v ? "/" + i.v : "") + (typeof i.f === "number" && i.f >= 0 ? "/" + i.f : "");
    }
  }
  function show() {
    if (!state) { return; }
    var words = {building: "Building…", ready: state.checking ? "Up to date; checking the PDF…" : "Up to date",
                 failed: "Failed: showing the last good deck"};
    status.textContent = words[state.status] || state.status;
    status.setAttribute("data-status", state.status);
    failure.hidden = state.status !== "failed";
    failure.textContent = state.error || "";
    var n = currentSlide();
    panel.replaceChildren();
    state.problems.forEach(function (p) {
      if (p.slide !== null && p.slide !== n) { return; }
      var li = document.createElement("li");
      li.textContent = p.text;
      li.setAttribute("data-slide", p.slide === null ? "" : String(p.slide));
      panel.appendChild(li);
    });
  }
  function go(r, where) {
    // a place "#/h/v/f" as remember() writes it
    var parts = where.replace(/^#\//, "").split("/").map(Number);
    r.slide(parts[0] || 0, parts[1] || 0, parts.length > 2 ? parts[2] : undefined);
  }
  function hook() {
    var r = reveal();
    if (r && r !== hooked && r.on) {
      hooked = r;
      // the reader may have moved in the old deck while this one loaded: it opens where they are now
      var wanted = place !== loadedPlace ? place : "";
      ["ready", "slidechanged", "fragmentshown", "fragmenthidden"].forEach(function (name) {
        r.on(name, function () {
          if (name === "ready" && wanted) { var w = wanted; wanted = ""; go(r, w); return; }
          remember(); show();
        });
      });
      if (r.isReady && r.isReady()) {
        if (wanted) { go(r, wanted); wanted = ""; } else { remember(); }
      }
    }
    show();
  }
  frame.addEventListener("load", hook);
  function load(deck) {
    shownDeck = deck;
    loadedPlace = place;
    frame.src = "/deck?token=" + encodeURIComponent(token) + "&v=" + deck + place;
  }
  var events = new EventSource("/events?token=" + encodeURIComponent(token));
  events.onmessage = function (event) {
    state = JSON.parse(event.data);
    if (state.deck > shownDeck && state.deck > 0) { load(state.deck); }
    show();
  };
  window.esrPreview = function () { return {state: state, shownDeck: shownDeck, slide: currentSlide()}; };
})();
