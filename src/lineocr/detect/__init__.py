"""Learned text-line detection: a small segmentation network (``model``, torch) trained on
composed pages (``train``), exported to ONNX (``export``) and run torch-free (``runtime``),
its score maps turned into line quadrilaterals by ``postprocess`` (numpy/OpenCV)."""
