using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling;

/// <summary>How a parameter starts when there is no checkpoint to read it from.</summary>
public enum Init { Normal, Zeros, Ones }

/// <summary>
/// Where a network's parameters come from while it is being built: a checkpoint, or fresh initialisation.
/// Blocks ask for each parameter by its internal name and shape, so building the network once validates the
/// whole checkpoint against the spec.
/// </summary>
public interface IParameterSource
{
    ScalarType Dtype { get; }
    Device Device { get; }

    Tensor Take(string name, long[] shape, Init init);
}

/// <summary>Fresh weights as Hugging Face initialises encoders: normal(0, range) matrices, zero biases, unit norms.</summary>
public sealed class RandomParameters(double initializerRange, ScalarType dtype, Device device, long seed = 0) : IParameterSource
{
    readonly Generator generator = new((ulong)seed, new Device(DeviceType.CPU));

    public ScalarType Dtype => dtype;
    public Device Device => device;

    public Tensor Take(string name, long[] shape, Init init)
    {
        Tensor cpu = init switch
        {
            Init.Zeros => zeros(shape, dtype),
            Init.Ones => ones(shape, dtype),
            _ => normal(0, initializerRange, shape, dtype, generator: generator),
        };
        if (device.type == DeviceType.CPU) return cpu;
        using (cpu) return cpu.to(device);
    }
}
