using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace EncoderKit.Compute;

public enum ComputeDtype { Float32, BFloat16 }

/// <summary>Where and how a model computes.</summary>
public sealed record ComputeOptions
{
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Null: float32 on CPU, bfloat16 on CUDA.</summary>
    public ComputeDtype? Dtype { get; init; }

    /// <summary>Intra-op threads for libtorch (process-wide), at most one per core; null leaves libtorch's default (one per core).</summary>
    public int? Threads { get; init; }

    /// <summary>Where warnings about these choices go (bf16 on a CPU that emulates it, threads above the core count, MKL's generic kernels).</summary>
    public ILogger? Logger { get; init; }

    internal Device ResolveDevice()
    {
        Device device;
        try
        {
            device = new Device(Device);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or ExternalException)
        {
            throw new EncoderKitException(ErrorKind.BadInput, $"unknown device '{Device}' (use cpu, cuda or cuda:N)", field: "device", inner: e);
        }
        if (device.type == TorchSharp.DeviceType.CUDA && !cuda.is_available())
            throw new EncoderKitException(ErrorKind.BadInput, "CUDA was asked for but no CUDA device or CUDA build of libtorch is present", field: "device");
        return device;
    }

    internal ScalarType ResolveDtype(Device device) => ResolveDtype(device, CpuBFloat16.IsNative);

    /// <param name="nativeCpuBFloat16">Whether the CPU computes bf16 natively (null: unknown, no warning).</param>
    internal ScalarType ResolveDtype(Device device, bool? nativeCpuBFloat16)
    {
        bool bf16 = (Dtype ?? (device.type == TorchSharp.DeviceType.CUDA ? ComputeDtype.BFloat16 : ComputeDtype.Float32)) == ComputeDtype.BFloat16;
        if (bf16 && device.type == TorchSharp.DeviceType.CPU && nativeCpuBFloat16 == false)
            Logger?.LogWarning("bf16 on this CPU is emulated (it has no AVX512_BF16, AMX or Arm BF16): matrix products run 10-100x slower than in fp32; " +
                "use fp32 here, bf16 pays on CPUs with native bf16 and on CUDA");
        return bf16 ? ScalarType.BFloat16 : ScalarType.Float32;
    }

    /// <summary>Sets libtorch's thread count, and warns when matrix products will run on MKL's generic kernels.</summary>
    internal void ApplyToProcess()
    {
        if (MklCpuDispatch.VendorCheck == MklVendorCheck.Failed)
            Logger?.LogWarning("MKL will run its generic kernels on this non-Intel CPU, float32 matrix products up to a quarter slower: {Reason}", MklCpuDispatch.FailureReason);
        if (Threads is not { } n) return;
        if (n < 1) throw new EncoderKitException(ErrorKind.BadInput, $"thread count must be at least 1, got {n}", field: "threads");
        // More threads than cores only makes them wait on each other (a 3 s job took 78 s with 1000).
        int cores = Environment.ProcessorCount;
        if (n > cores)
        {
            Logger?.LogWarning("{Threads} threads asked for, but this machine has {Cores} cores: using {Cores}", n, cores, cores);
            n = cores;
        }
        set_num_threads(n);
    }
}
