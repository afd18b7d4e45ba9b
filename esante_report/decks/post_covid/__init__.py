"""The post-COVID coordination cells deck: its data, blocks, survey cycle, templates and CSS."""
