import importlib.util, os, sys
sys.path.append("/work/main/.venv/lib/python3.11/site-packages")  # PySide6 (abi3 wheel)
_spec = importlib.util.spec_from_file_location("_xvfb", "/work/main/python/auroraview/_xvfb.py")
xvfb = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(xvfb)

class Display(xvfb.VirtualDisplay):
    """The project's Xvfb helper without its auroraview-specific __exit__."""
    def __exit__(self, *exc):
        for k, v in self._saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
        self._stop()
