Reveal.initialize({
  width: 1280, height: 720, margin: 0, minScale: 0.1, maxScale: 3,
  center: false, controls: true, progress: true, hash: true, slideNumber: false,
  transition: "none", backgroundTransition: "none", plugins: [RevealNotes]
});
