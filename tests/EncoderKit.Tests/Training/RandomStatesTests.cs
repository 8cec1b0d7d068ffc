using EncoderKit.Training;
using static TorchSharp.torch;

namespace EncoderKit.Tests.Training;

/// <summary>Draw, save, draw more, restore, draw again: the same numbers, bit for bit, from both generators.</summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class RandomStatesTests
{
    // What a training step draws: a dropout mask, an MLM masking draw, an epoch order.
    static (float[] Dropout, long[] Masking, int[] Order) Draw(RandomStates random)
    {
        using var scope = NewDisposeScope();
        Tensor dropped = nn.functional.dropout(ones(64), 0.5, training: true);
        return (dropped.data<float>().ToArray(), randint(0, 1000, [16]).data<long>().ToArray(), random.DataOrder.Permutation(50));
    }

    static void AssertSame((float[] Dropout, long[] Masking, int[] Order) expected, (float[] Dropout, long[] Masking, int[] Order) actual)
    {
        Assert.Equal(expected.Dropout, actual.Dropout);
        Assert.Equal(expected.Masking, actual.Masking);
        Assert.Equal(expected.Order, actual.Order);
    }

    [Fact]
    public void RestoringTheSavedStatesRepeatsTheDraws()
    {
        var random = new RandomStates(seed: 42);
        Draw(random);
        Dictionary<string, Tensor> saved = random.StateDict();
        var first = Draw(random);
        var second = Draw(random);
        Assert.NotEqual(first.Order, second.Order);   // the generators moved on
        Assert.NotEqual(first.Masking, second.Masking);

        random.LoadStateDict(saved);
        AssertSame(first, Draw(random));
        AssertSame(second, Draw(random));

        // A fresh bundle restored from the same states, as a resumed process would be, draws them too.
        var resumed = new RandomStates(seed: 7);
        resumed.LoadStateDict(saved);
        AssertSame(first, Draw(resumed));
    }

    [Fact]
    public void TheSameSeedGivesTheSameDrawsAndAnotherSeedOthers()
    {
        var a = Draw(new RandomStates(seed: 3));
        AssertSame(a, Draw(new RandomStates(seed: 3)));
        var b = Draw(new RandomStates(seed: 4));
        Assert.NotEqual(a.Order, b.Order);
        Assert.NotEqual(a.Dropout, b.Dropout);
    }

    [Fact]
    public void ABadStateIsABadCheckpointNamingTheEntry()
    {
        var random = new RandomStates(seed: 1);
        Dictionary<string, Tensor> saved = random.StateDict();
        saved["rng.data_order"] = zeros(4, ScalarType.Int64);
        Assert.Equal("rng.data_order", Assert.Throws<EncoderKitException>(() => random.LoadStateDict(saved, "rng.safetensors")).Field);
        saved.Remove("rng.torch_cpu");
        Assert.Equal("rng.torch_cpu", Assert.Throws<EncoderKitException>(() => random.LoadStateDict(saved)).Field);
    }
}

/// <summary>The data-order generator alone (no global state).</summary>
public sealed class DataOrderGeneratorTests
{
    [Fact]
    public void PermutationsHoldEveryIndexOnceAndVary()
    {
        var generator = new DataOrderGenerator(seed: 5);
        int[] first = generator.Permutation(1000), second = generator.Permutation(1000);
        Assert.Equal(Enumerable.Range(0, 1000), first.Order());
        Assert.Equal(Enumerable.Range(0, 1000), second.Order());
        Assert.NotEqual(first, second);
        Assert.NotEqual(Enumerable.Range(0, 1000), first);
    }

    [Fact]
    public void DrawsCoverTheRangeEvenly()
    {
        // 60 000 draws over 6 values: each count within 5 % of 10 000 (about 5 standard deviations).
        var generator = new DataOrderGenerator(seed: 11);
        var counts = new int[6];
        for (int i = 0; i < 60_000; i++) counts[generator.Next(6)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }
}
