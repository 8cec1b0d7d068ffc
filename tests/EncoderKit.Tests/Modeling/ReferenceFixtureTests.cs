namespace EncoderKit.Tests.Modeling;

/// <summary>What the fixture-driven tests stand on: which fixtures they run, and which they leave out.</summary>
public sealed class ReferenceFixtureTests
{
    public static TheoryData<string> LeftOut() => new(ReferenceFixtures.All.Where(ReferenceFixtures.HeadsNotBuiltYet.Contains));

    [Theory, MemberData(nameof(LeftOut))]
    public void TheFixturesLeftOutStillDoNotLoad(string fixture)
    {
        var error = Assert.Throws<EncoderKitException>(() => EncoderModel.Load(ReferenceData.Model(fixture)).Dispose());
        Assert.Contains("match nothing in the model", error.Problem);
    }

    [Fact]
    public void EveryFamilyAndTheClassifiersAreRun() =>
        Assert.Superset(new HashSet<string> { "bert", "bert-seqcls", "nomic_bert", "modernbert", "llama_enc", "retrieva_bert", "modernbert-seqcls" },
            ReferenceFixtures.Loadable.ToHashSet());

    [Fact]
    public void EveryBaseFixtureLoads() => Assert.DoesNotContain(ReferenceFixtures.Base, ReferenceFixtures.HeadsNotBuiltYet.Contains);
}
