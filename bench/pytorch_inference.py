"""Inference latency of the zoo's ImageNet networks in PyTorch (and optionally ONNX Runtime),
the peer of `krust bench --inference`: ResNet-18, MobileNet v2 and EfficientNet-Lite0 on
224x224x3 inputs at batch 1 and 16, eval mode, 2 threads, random weights (speed does not
depend on them).

    python bench/pytorch_inference.py [--threads 2] [--reps 10] [--onnx]

PyTorch runs each network in channels_last memory format under torch.inference_mode()
(its fastest CPU path here); --onnx also exports each network with
torch.onnx.export(..., dynamo=False) and times ONNX Runtime's CPU session (all graph
optimizations, intra-op threads = --threads). Each figure is the median of --reps timed runs
after 3 warm-up runs. EfficientNet-Lite0 needs `pip install efficientnet-lite-pytorch`.
"""
import argparse
import os
import statistics
import tempfile

import torch
import torchvision

from pytorch_gemm import timings  # three warm-up calls, then `reps` timed ones


def networks():
    from efficientnet_lite_pytorch import EfficientNet

    lite0 = EfficientNet.from_name("efficientnet-lite0")
    return {
        "ResNet-18": torchvision.models.resnet18(),
        "MobileNet v2": torchvision.models.mobilenet_v2(),
        "EfficientNet-Lite0": lite0,
    }


def median_ms(f, reps):
    return 1e3 * statistics.median(timings(f, reps))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--onnx", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads")
    for name, model in networks().items():
        model.eval()
        for batch in (1, 16):
            x = torch.randn(batch, 3, 224, 224)
            m = model.to(memory_format=torch.channels_last)
            xc = x.to(memory_format=torch.channels_last)
            with torch.inference_mode():
                ms = median_ms(lambda: m(xc), args.reps)
            line = f"{name:<20} batch {batch:>2}: PyTorch {ms:8.2f} ms"
            if args.onnx:
                import onnxruntime as ort

                with tempfile.TemporaryDirectory() as d:
                    path = os.path.join(d, "model.onnx")
                    torch.onnx.export(model.to(memory_format=torch.contiguous_format), x, path,
                                      dynamo=False, input_names=["x"])
                    options = ort.SessionOptions()
                    options.intra_op_num_threads = args.threads
                    options.inter_op_num_threads = 1
                    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
                    feed = {"x": x.numpy()}
                    ort_ms = median_ms(lambda: session.run(None, feed), args.reps)
                line += f", ONNX Runtime {ort_ms:8.2f} ms"
            print(line, flush=True)


if __name__ == "__main__":
    main()
