"""The output folder: safe writes (``fs``), atomic deck versions (``versions``), the readers' index (``index``) and its Atom feed (``feed``)."""
