from detr_watch.cli import script

script()
