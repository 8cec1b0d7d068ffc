using EncoderKit.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>
/// Clipping by global norm against a hand computation: gradients (3, 4) and (12) have global norm √(9 + 16 + 144) = 13.
/// Tolerance 1e-6 relative: the gradients are float32, the hand values float64.
/// </summary>
public sealed class GradientClippingTests
{
    static Parameter WithGrad(params float[] grad)
    {
        var parameter = new Parameter(zeros(grad.Length));
        parameter.grad = tensor(grad);
        return parameter;
    }

    static void AssertClose(double[] expected, Parameter parameter)
    {
        float[] actual = parameter.grad!.data<float>().ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= 1e-6 * Math.Abs(expected[i]), $"[{i}] {actual[i]:R}, expected {expected[i]:R}");
    }

    [Fact]
    public void GradientsAboveTheMaximumAreScaledToIt()
    {
        using Parameter a = WithGrad(3, 4), b = WithGrad(12), untouched = new(ones(2));
        double norm = GradientClipping.ClipByGlobalNorm([a, untouched, b], maxNorm: 1.0);
        Assert.Equal(13.0, norm, 5);
        double coefficient = 1.0 / (13.0 + 1e-6);
        AssertClose([3 * coefficient, 4 * coefficient], a);
        AssertClose([12 * coefficient], b);
        Assert.Null(untouched.grad);
    }

    [Fact]
    public void GradientsBelowTheMaximumStayAsTheyAre()
    {
        using Parameter a = WithGrad(3, 4), b = WithGrad(12);
        Assert.Equal(13.0, GradientClipping.GlobalNorm([a, b]), 5);
        Assert.Equal(13.0, GradientClipping.ClipByGlobalNorm([a, b], maxNorm: 20.0), 5);
        AssertClose([3, 4], a);
        AssertClose([12], b);
    }

    [Fact]
    public void ANonPositiveMaximumIsBadInput() =>
        Assert.Equal("max_grad_norm", Assert.Throws<EncoderKitException>(() => GradientClipping.ClipByGlobalNorm([], 0)).Field);
}
