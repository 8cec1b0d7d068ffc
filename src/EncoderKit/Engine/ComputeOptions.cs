using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace EncoderKit.Engine;

public enum ComputeDtype { Float32, BFloat16 }

/// <summary>Where and how a model computes.</summary>
public sealed record ComputeOptions
{
    /// <summary>"cpu", "cuda" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Null: float32 on CPU, bfloat16 on CUDA.</summary>
    public ComputeDtype? Dtype { get; init; }

    /// <summary>Intra-op threads for libtorch (process-wide); null leaves libtorch's default (one per core).</summary>
    public int? Threads { get; init; }

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

    internal ScalarType ResolveDtype(Device device) =>
        (Dtype ?? (device.type == TorchSharp.DeviceType.CUDA ? ComputeDtype.BFloat16 : ComputeDtype.Float32)) == ComputeDtype.BFloat16
            ? ScalarType.BFloat16
            : ScalarType.Float32;

    internal void ApplyThreads()
    {
        if (Threads is not { } n) return;
        if (n < 1) throw new EncoderKitException(ErrorKind.BadInput, $"thread count must be at least 1, got {n}", field: "threads");
        set_num_threads(n);
    }
}
