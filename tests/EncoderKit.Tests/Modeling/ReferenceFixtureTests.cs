namespace EncoderKit.Tests.Modeling;

/// <summary>What the fixture-driven tests stand on: every family and every task head has its fixture among those they run.</summary>
public sealed class ReferenceFixtureTests
{
    [Fact]
    public void EveryFamilyAndEveryTaskHeadIsRun() =>
        Assert.Superset(new HashSet<string>
        {
            "bert", "nomic_bert", "modernbert", "llama_enc", "retrieva_bert",
            "bert-seqcls", "bert-tokcls", "bert-qa", "bert-mc",
            "modernbert-seqcls", "modernbert-tokcls", "modernbert-qa", "modernbert-mc",
            "retrieva_bert-seqcls", "retrieva_bert-tokcls", "retrieva_bert-qa", "retrieva_bert-mc",
        }, ReferenceFixtures.All.ToHashSet());
}
