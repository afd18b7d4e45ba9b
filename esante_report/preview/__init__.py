"""``esante-report preview``: the deck rebuilt on every save, served on 127.0.0.1, problems on their slide.

- ``session``: what is watched, and each rebuild (warm kernel, the render's stages, background PDF checks);
- ``server``: the local server (loopback, token, ``Host`` check) and its page (``page.html``, ``page.js``);
- ``run``: the command: watch, serve, stop cleanly on Ctrl-C.
"""
