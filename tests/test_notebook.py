"""examples/quickstart.ipynb runs top to bottom in a Jupyter kernel (nbclient), with a
short output and few iterations set in its `parameters` cell."""

import os
import sys

import nbclient
import nbformat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_quickstart_notebook_runs(tmp_path, monkeypatch):
  nb = nbformat.read(os.path.join(ROOT, "examples", "quickstart.ipynb"), as_version=4)
  (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
  params.source += "\nSECONDS = 1.0\nITERATIONS = 3\nREFINE_ITERATIONS = 2\nMORPH_SECONDS = 6.0\n"
  # The kernel runs `python`: this interpreter's, which has jaxstyle.
  monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
  nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                          resources={"metadata": {"path": str(tmp_path)}}).execute()

  outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
  assert not [o for o in outputs if o.output_type == "error"]
  assert (tmp_path / "my_texture.wav").exists()  # the built-in example, written as a file
  texts = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
  assert "texture: 1.0 s" in texts
  assert any("image/png" in o.get("data", {}) for o in outputs)  # the spectrogram figure
  players = [o for o in outputs if "<audio" in o.get("data", {}).get("text/html", "")]
  assert len(players) == 3  # style, texture and the morph
  assert sum("image/png" in o.get("data", {}) for o in outputs) == 2  # its spectrogram too
