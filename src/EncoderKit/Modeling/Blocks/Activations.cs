using TorchSharp;
using static TorchSharp.torch;

namespace EncoderKit.Modeling.Blocks;

static class Activations
{
    public static Tensor Apply(Activation activation, Tensor x) => activation switch
    {
        Activation.Gelu => nn.functional.gelu(x),  // exact erf form, as Hugging Face's "gelu"
        Activation.GeluTanh => x.gelu(TorchSharp.Modules.GELU.Approximate.tanh),
        Activation.Silu => nn.functional.silu(x),
        Activation.Relu => nn.functional.relu(x),
        Activation.Sigmoid => nn.functional.sigmoid(x),
        Activation.Tanh => x.tanh(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, null),
    };

    /// <summary>Hugging Face's activation names (config.json hidden_act and friends).</summary>
    public static Activation Parse(string name, string configFile, string field) => name switch
    {
        "gelu" => Activation.Gelu,
        "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" => Activation.GeluTanh,
        "silu" or "swish" or "swiglu" => Activation.Silu,
        "relu" => Activation.Relu,
        _ => throw new EncoderKitException(ErrorKind.BadConfig, $"unsupported activation '{name}' (supported: gelu, gelu_new, gelu_pytorch_tanh, silu, swish, relu)", configFile, field),
    };
}
