"""Audio loading (formats, channels, rates), checks and atomic writes."""

import os

import librosa
import numpy as np
import pytest
import soundfile as sf

from jaxstyle import InputError
from jaxstyle import audio
from jaxstyle import examples
from jaxstyle import outputs


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_16"), ("FLAC", "PCM_16"),
                                          ("MP3", "MPEG_LAYER_III")])
def test_load_any_format_channels_and_rate_to_mono(tmp_path, fmt, subtype):
  y = examples.tones(duration_s=1.0, sample_rate=44100, seed=0)
  stereo = np.stack([y, 0.5 * y], axis=1)
  path = str(tmp_path / f"clip.{fmt.lower()}")
  sf.write(path, stereo, 44100, format=fmt, subtype=subtype)
  out = audio.load(path, sample_rate=22050)
  assert out.dtype == np.float32 and out.ndim == 1
  ref = librosa.resample(0.75 * y, orig_sr=44100, target_sr=22050)
  if fmt == "MP3":  # lossy, with an encoder delay: compare loudness and length only
    assert abs(out.size - ref.size) < 0.05 * ref.size
    np.testing.assert_allclose(np.std(out), np.std(ref), rtol=0.1)
  else:
    assert out.size == ref.size
    np.testing.assert_allclose(out, ref, atol=2e-3)


def test_missing_and_corrupt_files(tmp_path):
  with pytest.raises(InputError, match="not found"):
    audio.load(str(tmp_path / "nope.wav"), sample_rate=22050)
  bad = tmp_path / "bad.wav"
  bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
  with pytest.raises(InputError, match="cannot read"):
    audio.load(str(bad), sample_rate=22050)


@pytest.mark.parametrize("y, message", [
    (np.zeros(4096, np.float32), "silent"),
    (np.ones(100, np.float32), "too short"),
    (np.array([0.1] * 2000 + [np.nan] * 10, np.float32), "NaN"),
    (np.array([0.1] * 2000 + [np.inf], np.float32), "NaN or infinite"),
])
def test_check_rejects_bad_audio(y, message):
  with pytest.raises(InputError, match=message):
    audio.check(y, name="clip", n_fft=1024)


def test_save_is_atomic(tmp_path, monkeypatch):
  path = str(tmp_path / "out" / "x.wav")
  y = examples.tones(duration_s=0.5, seed=1)
  outputs.audio(path, y, sample_rate=22050)
  back, rate = sf.read(path, dtype="float32")
  assert rate == 22050 and np.max(np.abs(back - y)) < 1e-3
  assert os.listdir(os.path.dirname(path)) == ["x.wav"]

  def fail(*args, **kwargs):
    raise RuntimeError("disk full")

  monkeypatch.setattr(sf, "write", fail)
  with pytest.raises(RuntimeError, match="disk full"):
    outputs.audio(str(tmp_path / "out" / "y.wav"), y, sample_rate=22050)
  assert os.listdir(os.path.dirname(path)) == ["x.wav"]  # no y.wav, no temporary file


@pytest.mark.parametrize("container, subtype, atol", [
    ("wav", "PCM_16", 2 / 2**15), ("wav", "PCM_24", 2 / 2**23), ("wav", "FLOAT", 0.0),
    ("flac", "PCM_16", 2 / 2**15), ("flac", "PCM_24", 2 / 2**23)])
def test_save_containers_and_sample_formats(tmp_path, container, subtype, atol):
  y = examples.tones(duration_s=0.5, seed=1)
  path = str(tmp_path / f"x.{container}")
  outputs.audio(path, y, sample_rate=22050, output=outputs.Output(container, subtype))
  info = sf.info(path)
  assert (info.format, info.subtype, info.samplerate) == (container.upper(), subtype, 22050)
  back, _ = sf.read(path, dtype="float64")
  np.testing.assert_allclose(back, y, rtol=0, atol=atol + 1e-7)


def test_save_ogg_vorbis(tmp_path):
  y = examples.tones(duration_s=1.0, seed=1)
  path = str(tmp_path / "x.ogg")
  outputs.audio(path, y, sample_rate=22050, output=outputs.Output("ogg"))
  info = sf.info(path)
  assert (info.format, info.subtype, info.frames) == ("OGG", "VORBIS", y.size)
  back, _ = sf.read(path, dtype="float32")  # lossy: the waveform, not the samples
  assert np.corrcoef(back, y)[0, 1] > 0.95


def test_save_resamples_as_librosa(tmp_path):
  y = examples.tones(duration_s=0.5, seed=1)
  path = str(tmp_path / "x.wav")
  outputs.audio(path, y, sample_rate=22050, output=outputs.Output("wav", "FLOAT", 48000))
  back, rate = sf.read(path, dtype="float32")
  ref = librosa.resample(y, orig_sr=22050, target_sr=48000)
  assert rate == 48000 and back.size == ref.size
  np.testing.assert_allclose(back, ref / max(1.0, np.max(np.abs(ref))), atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"container": "mp3"}, "output format"), ({"subtype": "PCM_8"}, "output subtype"),
    ({"container": "flac", "subtype": "FLOAT"}, "integer samples"),
    ({"container": "ogg", "subtype": "PCM_24"}, "Vorbis"), ({"rate": 50}, "output rate")])
def test_output_refuses_what_its_container_cannot_hold(kwargs, message):
  with pytest.raises(InputError, match=message):
    outputs.Output(**kwargs)


def test_load_a_part_of_a_file(tmp_path):
  y = examples.tones(duration_s=1.0, seed=3)
  path = str(tmp_path / "x.wav")
  sf.write(path, y, 22050, subtype="FLOAT")
  np.testing.assert_array_equal(
      audio.load(path, sample_rate=22050, offset_s=0.25, duration_s=0.5), y[5512:5512 + 11025])
  np.testing.assert_array_equal(audio.load(path, sample_rate=22050, offset_s=0.75), y[16538:])
  with pytest.raises(InputError, match="past its end"):
    audio.load(path, sample_rate=22050, offset_s=1.5)
  for bad, message in (({"offset_s": -1.0}, "non-negative"), ({"duration_s": 0.0}, "positive")):
    with pytest.raises(InputError, match=message):
      audio.load(path, sample_rate=22050, **bad)
