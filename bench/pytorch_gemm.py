"""float32 2048x2048x2048 matrix product in PyTorch and ONNX Runtime, the peer of
`krust bench --workload gemm`.

    /root/venvs/torch/bin/python bench/pytorch_gemm.py [--threads 2] [--reps 10] [--size 2048]

PyTorch times torch.matmul (MKL on x86); ONNX Runtime times a one-node MatMul model (built
with the `onnx` helper when installed, otherwise exported from a torch module with
torch.onnx.export(..., dynamo=False)) in a CPU session with intra-op threads = --threads and
one inter-op thread, all graph optimizations. Each line gives the median and the best of
--reps timed runs after 3 warm-up runs, in GFLOP/s (2 n^3 flops per product).
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch


def timings(f, reps):
    for _ in range(3):
        f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return times


def report(name, times, flops):
    med = statistics.median(times)
    print(f"{name:<34} median {1e3 * med:8.2f} ms, {flops / med / 1e9:7.1f} GFLOP/s "
          f"(best {flops / min(times) / 1e9:.1f})", flush=True)


def matmul_model(path, n):
    """Writes a one-node MatMul graph over two float32 n x n inputs a and b to `path`."""
    try:
        import onnx
        from onnx import TensorProto, helper
    except ImportError:
        class MatMul(torch.nn.Module):
            def forward(self, a, b):
                return torch.matmul(a, b)

        x = torch.zeros(n, n)
        torch.onnx.export(MatMul(), (x, x), path, dynamo=False, input_names=["a", "b"])
        return
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--no-onnx", action="store_true", help="PyTorch only")
    args = parser.parse_args()
    if args.threads < 1 or args.reps < 1 or args.size < 1:
        parser.error("--threads, --reps and --size must be at least 1")
    n = args.size
    flops = 2.0 * n ** 3
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, float32 {n}x{n}x{n}, "
          f"median of {args.reps} runs", flush=True)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen)
    b = torch.randn(n, n, generator=gen)
    c = torch.empty(n, n)
    report("PyTorch torch.matmul", timings(lambda: torch.matmul(a, b, out=c), args.reps), flops)
    if args.no_onnx:
        return
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "matmul.onnx")
        matmul_model(path, n)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    feed = {"a": a.numpy(), "b": b.numpy()}
    expected = (a.double() @ b.double()).numpy()
    got = session.run(None, feed)[0]
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-2):
        raise SystemExit("ONNX Runtime's MatMul disagrees with float64 torch.matmul")
    report(f"ONNX Runtime {ort.__version__} MatMul",
           timings(lambda: session.run(None, feed), args.reps), flops)


if __name__ == "__main__":
    main()
