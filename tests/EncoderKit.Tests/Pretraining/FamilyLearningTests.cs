using System.Text.Json.Nodes;
using EncoderKit.Compute;
using EncoderKit.Inference;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.Pretraining;

/// <summary>
/// Every family learns: a tiny masked-LM of each (2 layers, hidden 64, <see cref="TinyConfigs"/>) pretrained from
/// scratch by `encoderkit pretrain` on the toy corpus of <see cref="PretrainCommandTests"/> ("the A sat on the B . the A
/// likes the B ."), where every token but a doubly-masked A or B is predictable from the rest of its sequence.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class FamilyLearningTests
{
    public static TheoryData<string> Families => [.. TinyConfigs.Families];

    [Theory, MemberData(nameof(Families))]
    public void ATinyModelLearnsTheCorpusStructureAndFillMaskPredictsIt(string family)
    {
        using var setup = new PretrainCommandTests.Setup(family: family);
        string output = setup.Folder.File("out");
        // Length 16 holds [CLS], one 13-token document and its [SEP]. The held-out slice is the corpus's last documents.
        var run = setup.Pretrain("out", "--max-steps", "300", "--batch-size", "32", "--seq-len", "16", "--learning-rate", "2e-3", "--warmup-steps", "30",
            "--save-steps", "1000", "--log-steps", "100", "--eval-steps", "100", "--eval-sequences", "64");
        Assert.True(run.Exit == 0, run.Err);

        JsonNode[] lines = [.. File.ReadAllLines(Path.Combine(output, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!)];
        Assert.Equal(300, lines.Length);
        Assert.All(lines, l => Assert.True(l["tokens_per_second"]!.GetValue<double>() > 0));
        double[] accuracy = [.. lines.Where(l => l["eval_mlm_accuracy"] is not null).Select(l => l["eval_mlm_accuracy"]!.GetValue<double>())];
        Assert.Equal(3, accuracy.Length);   // steps 100, 200, 300
        Assert.All(lines.Where(l => l["eval_mlm_accuracy"] is not null), l => Assert.True(l["eval_loss"]!.GetValue<double>() is > 0 and < 10));
        // Chance is 1/27 over the real words; a model knowing only the fixed words ("the", "sat", "on", "likes", ".": 9 of
        // 13 positions) but guessing A and B plateaus near 0.77; copying A and B from their other mention lifts it above 0.9.
        Assert.True(accuracy[^1] > 0.85, $"{family}: held-out masked-token accuracy {string.Join(", ", accuracy.Select(a => a.ToString("F3")))}");

        using EncoderModel model = EncoderModel.Load(output, new ComputeOptions());
        var fillMask = new FillMask(model);
        int right = 0;
        foreach (string a in PretrainCommandTests.Animals)
            if (fillMask.Predict($"the {a} sat on the rug . the [MASK] likes the rug .", topK: 1)[0][0].TokenStr == a) right++;
        Assert.True(right >= 3, $"{family}: {right} of 4 animals recovered");
    }
}
