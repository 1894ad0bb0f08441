# -*- coding: utf-8 -*-
"""What the GIMP plug-ins share: finding the project, and colorizing raw pixel bytes in-process or in the worker.

This file must stay valid Python 2.7 and 3 and must not need numpy: GIMP 2.10's Python-Fu imports it too.
In-process colorization (numpy + onnxruntime importable) is used when available; otherwise the project's own
virtual environment runs ``python -m gimp_plugin.worker`` and pixels travel over its stdin/stdout.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import threading

from gimp_plugin.worker.protocol import BYTES_PER_SAMPLE, PROTOCOL

WORKER_TIMEOUT_S = 600


class BridgeError(Exception):
    """A failure to show the user as is."""


def list_models(models_dir):
    """Installed .onnx models by file name, the shipped default first."""
    try:
        names = sorted(name for name in os.listdir(models_dir) if name.endswith(".onnx"))
    except OSError:
        names = []
    names.sort(key=lambda name: name != "colorize.onnx")
    return names or ["colorize.onnx"]


def _in_process_core(config):
    """The runtime's colorize function when this Python can import it (numpy + onnxruntime), else None."""
    if os.environ.get("COLORIZE_FORCE_WORKER"):
        return None
    project = config.get("project")
    if project and project not in sys.path:
        sys.path.insert(0, project)
    # The project's venv was built for one Python version: its packages load here only if that version matches.
    venv_python = config.get("python") or ""
    site = os.path.join(
        os.path.dirname(os.path.dirname(venv_python)), "lib", "python%d.%d" % sys.version_info[:2], "site-packages"
    )
    if os.path.isdir(site) and site not in sys.path:
        sys.path.append(site)
    try:
        import numpy  # noqa: F401
        import onnxruntime  # noqa: F401

        from gimp_plugin.worker import inprocess
    except Exception:  # any import failure means: use the worker
        return None
    return inprocess


def _image_spec(image, keys):
    """The header entry of an extra image (hints, a reference): its ``keys``, and its channels (4 by default)."""
    spec = dict((key, image.get(key)) for key in keys)
    spec["channels"] = image.get("channels", 4)
    return spec


class Job(object):
    """One colorization: pixels as raw bytes (row-major, interleaved), plus options."""

    def __init__(
        self,
        pixels,
        width,
        height,
        channels,
        sample_format,
        model=None,
        render_size=None,
        saturation=1.0,
        hints=None,
        selection=None,
        selection_format="f32",
        task="colorize",
        count=None,
        reference=None,
    ):
        expected = width * height * channels * BYTES_PER_SAMPLE[sample_format]
        if len(pixels) != expected:
            raise BridgeError("pixel data is %d bytes, expected %d" % (len(pixels), expected))
        self.pixels, self.width, self.height, self.channels = pixels, width, height, channels
        self.sample_format, self.model, self.render_size, self.saturation = (
            sample_format,
            model,
            render_size,
            saturation,
        )
        # None, or {"data": bytes, "width", "height", "format", "channels": 4 (RGBA) or 2 (gray+alpha),
        #           "offset": (x, y) of the hint image on the photo, or None to scale it over the whole photo}
        self.hints = hints
        self.selection, self.selection_format = selection, selection_format
        # "colorize"; "suggest-hints" (``count`` dots as an RGBA hint image); "uncertainty" (a heat map)
        self.task, self.count = task, count
        # None, or {"data": bytes, "width", "height", "format", "channels"}: a color reference photo
        self.reference = reference

    def header(self):
        header = {
            "protocol": PROTOCOL,
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "format": self.sample_format,
            "model": self.model,
            "render_size": self.render_size or None,
            "saturation": self.saturation,
            "hints": None,
            "selection": None,
            "task": self.task,
        }
        if self.count is not None:
            header["count"] = self.count
        if self.reference is not None:
            header["reference"] = _image_spec(self.reference, ("width", "height", "format"))
        if self.hints is not None:
            header["hints"] = _image_spec(self.hints, ("width", "height", "format", "offset"))
        if self.selection is not None:
            header["selection"] = {"format": self.selection_format}
        return header

    def payloads(self):
        parts = [self.pixels]
        if self.hints is not None:
            parts.append(self.hints["data"])
        if self.selection is not None:
            parts.append(self.selection)
        if self.reference is not None:
            parts.append(self.reference["data"])
        return parts


def run_worker(job, python, project, progress=None, timeout=WORKER_TIMEOUT_S):
    """Colorize ``job`` in a worker process; returns (result bytes, channels). Raises BridgeError."""
    if not python or not os.path.exists(python):
        raise BridgeError(
            "Colorize's Python environment was not found at %s. Run ./install.sh in the Colorize folder." % python
        )
    environment = dict(os.environ)
    environment["PYTHONPATH"] = project + os.pathsep + environment.get("PYTHONPATH", "")
    # Its own process group, so that a stop also ends anything the worker started (POSIX only).
    group = {"preexec_fn": os.setsid} if hasattr(os, "setsid") else {}
    try:
        process = subprocess.Popen(
            [python, "-m", "gimp_plugin.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=project,
            env=environment,
            **group
        )
    except OSError as error:
        raise BridgeError("could not start the Colorize worker (%s): %s" % (python, error))
    timed_out = []

    def kill():
        try:
            if group:
                os.killpg(process.pid, 9)
            else:
                process.kill()
        except OSError:
            pass  # already gone

    def stop():
        timed_out.append(True)
        kill()

    timer = threading.Timer(timeout, stop)
    timer.start()
    try:
        return _exchange(process, job, progress)
    except BridgeError:
        if timed_out:
            raise BridgeError(
                "the Colorize worker took longer than %d s and was stopped; the image was not changed" % timeout
            )
        raise
    finally:
        timer.cancel()
        if process.poll() is None:
            kill()
        process.wait()


def _exchange(process, job, progress):
    try:
        process.stdin.write(json.dumps(job.header()).encode("utf-8") + b"\n")
        for part in job.payloads():
            process.stdin.write(part)
        process.stdin.close()
    except (IOError, OSError):
        pass  # the worker is gone; its exit code (read below) says why
    while True:
        line = process.stdout.readline(1 << 16)
        if not line:
            code = process.wait()
            raise BridgeError(
                "the Colorize worker stopped unexpectedly (exit code %s); the image was not changed" % code
            )
        try:
            message = json.loads(line.decode("utf-8"))
        except ValueError:
            raise BridgeError("the Colorize worker sent something unreadable: %r" % line[:80])
        if not isinstance(message, dict):
            raise BridgeError("the Colorize worker sent something unreadable: %r" % line[:80])
        if "progress" in message:
            if progress is not None:
                progress(float(message["progress"]))
            continue
        if not message.get("ok"):
            raise BridgeError(message.get("error") or "the Colorize worker failed without a message")
        size = int(message.get("nbytes", -1))
        expected = (
            job.width * job.height * int(message.get("channels", 0)) * BYTES_PER_SAMPLE.get(message.get("format"), 0)
        )
        if size != expected or message.get("format") != job.sample_format:
            raise BridgeError("the Colorize worker announced a result of the wrong size or format: %r" % message)
        data = process.stdout.read(size)
        if len(data) != size:
            raise BridgeError("the Colorize worker's result was cut short (%d of %d bytes)" % (len(data), size))
        return data, int(message["channels"])


def colorize_bytes(job, config, progress=None):
    """Colorize ``job`` in this process if possible, else through the worker. Returns (bytes, channels)."""
    core = _in_process_core(config)
    if core is None:
        return run_worker(job, config.get("python"), config.get("project"), progress)
    try:
        return core.colorize_job(job, progress)
    except core.ColorizeError as error:
        raise BridgeError(str(error))
    except MemoryError:
        raise BridgeError("out of memory: try a smaller image or a lower render size")


def default_render_size(model_path, config, fallback):
    """The model's own render size when this Python can load it (in-process), else ``fallback``."""
    core = _in_process_core(config)
    if core is None:
        return fallback
    try:
        return core.default_render_size(model_path)
    except Exception:  # a broken model: the run itself will say so
        return fallback
