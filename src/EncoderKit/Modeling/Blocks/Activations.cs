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
}
