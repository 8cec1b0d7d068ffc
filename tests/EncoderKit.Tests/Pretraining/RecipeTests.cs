using EncoderKit.Pretraining;
using EncoderKit.Training;

namespace EncoderKit.Tests.Pretraining;

public sealed class RecipeTests
{
    static readonly Dictionary<string, string> NoOverrides = [];

    static string Write(TempFolder folder, string json)
    {
        string path = folder.File("recipe.json");
        File.WriteAllText(path, json);
        return path;
    }

    const string Base = """
        {
          "_comment": "a comment field is ignored",
          "config": "config.json", "tokenizer": "tok", "corpus": "prepared", "output": "out",
          "max_steps": 1000, "batch_size": 64, "curriculum": "128:900,512:100",
          "learning_rate": 1e-4, "scheduler": "linear", "warmup_steps": 100, "nsp": true
        }
        """;

    [Fact]
    public void RecipeFieldsAreReadAndOptionsOverrideThem()
    {
        using var folder = new TempFolder();
        string path = Write(folder, Base);
        PretrainRecipe recipe = PretrainRecipe.Load(path, NoOverrides);
        Assert.Equal(folder.File("config.json"), recipe.Config);   // relative to the recipe's folder
        Assert.Equal(1000, recipe.MaxSteps);
        Assert.Equal([new CurriculumStage(128, 900, 64), new CurriculumStage(512, 100, 64)], recipe.Curriculum.Stages);
        Assert.True(recipe.NextSentencePrediction);
        Assert.Equal(new LearningRateSchedule(ScheduleKind.Linear, 1e-4, 100, 1000), recipe.Schedule);
        Assert.Equal(0.15, recipe.Masking.MlmProbability);

        PretrainRecipe overridden = PretrainRecipe.Load(path, new Dictionary<string, string>
        {
            ["max_steps"] = "50", ["learning_rate"] = "3e-4", ["nsp"] = "false", ["whole_word_masking"] = "", ["curriculum"] = "16:30:8,32:20", ["output"] = "elsewhere",
        });
        Assert.Equal(50, overridden.MaxSteps);
        Assert.Equal(3e-4, overridden.Schedule.LearningRate);
        Assert.Equal(50, overridden.Schedule.TrainingSteps);
        Assert.False(overridden.NextSentencePrediction);
        Assert.True(overridden.Masking.WholeWordMasking);
        Assert.Equal([new CurriculumStage(16, 30, 8), new CurriculumStage(32, 20, 64)], overridden.Curriculum.Stages);
        Assert.Equal(Path.GetFullPath("elsewhere"), overridden.Output);   // an option's path is the working folder's
    }

    [Theory]
    [InlineData("\"max_stepz\": 5", "max_stepz", "unknown field")]
    [InlineData("\"max_steps\": -5", "max_steps", "not ≥ 1")]
    [InlineData("\"max_steps\": 2.5", "max_steps", "not an integer")]
    [InlineData("\"mlm_probability\": 1.5", "mlm_probability", "not in (0, 1)")]
    [InlineData("\"mlm_probability\": 0", "mlm_probability", "not in (0, 1)")]
    [InlineData("\"mask_replace_prob\": 0.95", "random_replace_prob", "exceed 1")]
    [InlineData("\"nsp\": \"yes\"", "nsp", "not true or false")]
    [InlineData("\"seq_len\": 128", "seq_len", "not both")]
    [InlineData("\"curriculum\": \"128:0\"", "curriculum", "positive integers")]
    [InlineData("\"scheduler\": \"cosine_with_min_lr\"", "min_lr", "min_lr")]
    [InlineData("\"min_lr\": 1e-6", "min_lr", "has no minimum")]
    [InlineData("\"gradient_accumulation\": 3", "gradient_accumulation", "does not split")]
    [InlineData("\"model\": \"m\"", "config", "exactly one")]
    public void BadFieldsAreNamed(string field, string name, string problem)
    {
        using var folder = new TempFolder();
        string path = Write(folder, Base.Replace("\"nsp\": true", field.StartsWith("\"nsp\"", StringComparison.Ordinal) ? field : "\"nsp\": true, " + field));
        var e = Assert.Throws<EncoderKitException>(() => PretrainRecipe.Load(path, NoOverrides));
        Assert.Equal(path, e.File);
        Assert.Equal(name, e.Field);
        Assert.Contains(problem, e.Problem);
    }

    [Fact]
    public void TheScheduleSpansMaxStepsUnlessScheduleStepsIsGiven()
    {
        var overrides = new Dictionary<string, string>
        {
            ["config"] = "c.json", ["tokenizer"] = "t", ["corpus"] = "c", ["output"] = "o", ["max_steps"] = "100", ["warmup_ratio"] = "0.1",
            ["eval_steps"] = "25",
        };
        PretrainRecipe recipe = PretrainRecipe.Load(null, overrides);
        Assert.Equal(100, recipe.Schedule.TrainingSteps);
        Assert.Equal(10, recipe.Schedule.WarmupSteps);
        Assert.False(recipe.ScheduleStepsGiven);
        Assert.Equal(25, recipe.EvalSteps);
        Assert.Equal(64, recipe.EvalSequences);
        // The same recipe for a run that started with 200 steps: the ratio is of those.
        Assert.Equal(recipe.Schedule with { TrainingSteps = 200, WarmupSteps = 20 }, recipe.ScheduleOver(200));

        PretrainRecipe respanned = PretrainRecipe.Load(null, new Dictionary<string, string>(overrides) { ["schedule_steps"] = "300" });
        Assert.True(respanned.ScheduleStepsGiven);
        Assert.Equal(100, respanned.MaxSteps);
        Assert.Equal(300, respanned.Schedule.TrainingSteps);
        Assert.Equal(30, respanned.Schedule.WarmupSteps);
    }

    [Fact]
    public void AnOptionThatIsNotANumberIsNamed()
    {
        var e = Assert.Throws<EncoderKitException>(() => PretrainRecipe.Load(null, new Dictionary<string, string> { ["max_steps"] = "many" }));
        Assert.Equal("--max-steps", e.Field);
    }

    [Fact]
    public void CurriculumStagesSwitchAtTheirBoundaries()
    {
        var curriculum = LengthCurriculum.Parse("128:900,256:50:16,512:50", batchSize: 32);
        Assert.Equal(1000, curriculum.TotalSteps);
        Assert.Equal(128, curriculum.StageAt(0).SeqLen);
        Assert.Equal(128, curriculum.StageAt(899).SeqLen);
        Assert.Equal(new CurriculumStage(256, 50, 16), curriculum.StageAt(900));
        Assert.Equal(256, curriculum.StageAt(949).SeqLen);
        Assert.Equal(512, curriculum.StageAt(950).SeqLen);
        Assert.Equal(512, curriculum.StageAt(5000).SeqLen);   // a resumed run beyond the plan stays in the last stage
        Assert.Throws<EncoderKitException>(() => LengthCurriculum.Parse("128", 32));
        Assert.Throws<EncoderKitException>(() => LengthCurriculum.Parse("128:10:x", 32));
    }

    [Fact]
    public void TheShippedRecipesParse()
    {
        string recipes = Path.Combine(RepositoryRoot(), "examples", "recipes");
        string[] files = Directory.GetFiles(recipes, "*.json");
        Assert.Equal(4, files.Length);
        foreach (string file in files)
        {
            PretrainRecipe recipe = PretrainRecipe.Load(file, NoOverrides);
            Assert.True(recipe.MaxSteps > 0, file);
            string text = File.ReadAllText(file);
            Assert.Contains("\"_source\"", text);
            // What is not checked against the model card is named field by field, and those are real fields.
            Assert.Equal(text.Contains("\"_unverified\"", StringComparison.Ordinal), recipe.Unverified.Count > 0);
            Assert.All(recipe.Unverified.Keys, field => Assert.Contains(field, PretrainRecipe.Fields.Select(f => f.Name)));
        }
        Assert.Equal(["batch_size", "learning_rate", "min_lr"],
            PretrainRecipe.Load(Path.Combine(recipes, "tohokunlp-bert-alpha.json"), NoOverrides).Unverified.Keys.Order());
        Assert.Equal(["curriculum"], PretrainRecipe.Load(Path.Combine(recipes, "retrieva-bert-1.3b.json"), NoOverrides).Unverified.Keys);
    }

    internal static string RepositoryRoot()
    {
        string? folder = AppContext.BaseDirectory;
        while (folder is not null && !File.Exists(Path.Combine(folder, "EncoderKit.slnx"))) folder = Path.GetDirectoryName(folder);
        return folder ?? throw new InvalidOperationException("no EncoderKit.slnx above " + AppContext.BaseDirectory);
    }
}
