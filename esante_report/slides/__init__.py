"""From an executed notebook to slides: the model every format is written from.

- ``model``: notebook cells → slides (headings, blocks, figures, notes) and the print/screen HTML;
- ``sanitize``: the allow-list HTML rewriter every fragment goes through;
- ``images``: raster outputs checked before they reach a slide;
- ``notebook``: a notebook read from disk checked against the notebook format.
"""
