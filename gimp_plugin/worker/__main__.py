"""``python -m gimp_plugin.worker``: the worker process the GIMP plug-ins start when GIMP's own Python cannot run
the model."""

from gimp_plugin.worker.serve import main

if __name__ == "__main__":
    raise SystemExit(main())
