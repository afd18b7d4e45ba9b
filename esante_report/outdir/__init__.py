"""The output folder: safe writes (``fs``), atomic deck versions (``versions``) and the readers' index (``index``)."""
