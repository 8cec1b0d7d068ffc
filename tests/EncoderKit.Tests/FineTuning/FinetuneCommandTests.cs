using System.Diagnostics;
using System.Text.Json.Nodes;
using EncoderKit.IO;
using EncoderKit.Tests.Cli;

namespace EncoderKit.Tests.FineTuning;

/// <summary>
/// <c>encoderkit finetune</c> end to end: a run stopped at step N and resumed logs the uninterrupted run's losses and
/// evaluations exactly (same process, same ops: bit for bit) and ends with the same model bytes; a run killed with
/// SIGKILL while writing a checkpoint every step leaves only complete checkpoints, and --resume continues from the last.
/// </summary>
[Collection(GlobalRandomCollection.Name)]
public sealed class FinetuneCommandTests(Xunit.Abstractions.ITestOutputHelper output)
{
    static string[] Args(string model, TempFolder data, string outputFolder, params string[] more) =>
        ["finetune", "--model", model, "--task", "text-classification", "--train", data.File("train.jsonl"), "--validation", data.File("validation.jsonl"),
            "--output", outputFolder, "--batch-size", "8", "--learning-rate", "1e-3", "--scheduler", "constant_with_warmup", "--warmup-steps", "2",
            "--eval-steps", "4", "--seed", "5", "--threads", "1", .. more];

    static void AssertSucceeded(CliRunner.Result result) => Assert.True(result.Exit == 0, result.Err);

    static List<JsonObject> Log(string outputFolder) =>
        [.. File.ReadAllLines(Path.Combine(outputFolder, "train_log.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject())];

    [Fact, Trait("speed", "slow")]
    public async Task AResumedRunLogsTheUninterruptedRunsLossesStepForStep()
    {
        using var data = new TempFolder();
        string model = TinyTasks.BaseModel(data.File("base"));   // dropout 0.1: the generator states matter
        TinyTasks.WriteSentiment(data.File("train.jsonl"), 40, 1);   // 5 steps an epoch: the run crosses two epoch ends; stopped at 8, an evaluation step, so both runs evaluate the same steps
        TinyTasks.WriteSentiment(data.File("validation.jsonl"), 16, 2);

        AssertSucceeded(await CliRunner.RunAsync(Args(model, data, data.File("straight"), "--max-steps", "12", "--save-steps", "3")));
        var first = await CliRunner.RunAsync(Args(model, data, data.File("resumed"), "--max-steps", "8", "--save-steps", "3"));
        AssertSucceeded(first);
        var resumed = await CliRunner.RunAsync(Args(model, data, data.File("resumed"), "--max-steps", "12", "--save-steps", "3", "--resume"));
        AssertSucceeded(resumed);
        output.WriteLine(resumed.Out);

        List<JsonObject> straight = Log(data.File("straight")), stitched = Log(data.File("resumed"));
        Assert.Equal(12, straight.Count(l => l.ContainsKey("loss")));
        Assert.Equal(straight.Select(l => l.ToJsonString()), stitched.Select(l => l.ToJsonString()));   // every step's loss, rate, norm and every evaluation
        Assert.Equal(File.ReadAllBytes(Path.Combine(data.File("straight"), "model.safetensors")), File.ReadAllBytes(Path.Combine(data.File("resumed"), "model.safetensors")));

        // The curves are drawn beside the log (ScottPlot, headless): a PNG file.
        byte[] png = File.ReadAllBytes(Path.Combine(data.File("resumed"), "train_log.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    static readonly string[] CheckpointFiles = ["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.safetensors", "run_state.safetensors", "vocab.txt"];

    [Fact, Trait("speed", "slow")]
    public async Task AKilledRunLeavesOnlyCompleteCheckpointsAndResumesFromTheLast()
    {
        using var data = new TempFolder();
        string model = TinyTasks.BaseModel(data.File("base"));
        TinyTasks.WriteSentiment(data.File("train.jsonl"), 200, 1);
        TinyTasks.WriteSentiment(data.File("validation.jsonl"), 16, 2);
        string run = data.File("run");
        var checkpoints = new EncoderKit.Training.CheckpointFolders(run, int.MaxValue);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(CliProcess.CliPath);
        foreach (string a in Args(model, data, run, "--max-steps", "100000", "--save-steps", "1", "--save-total-limit", "2")) start.ArgumentList.Add(a);
        using (Process process = Process.Start(start)!)
        {
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            // Writing a checkpoint after every step, the process is inside a checkpoint write most of the time it runs.
            while (checkpoints.Complete().LastOrDefault().Step < 6)
            {
                Assert.False(process.HasExited, "the run ended before it was killed");
                await Task.Delay(20, limit.Token);
            }
            process.Kill(entireProcessTree: true);   // SIGKILL
            await process.WaitForExitAsync(limit.Token);
        }

        var present = Directory.GetDirectories(run, "checkpoint-*");
        Assert.NotEmpty(present);
        foreach (string folder in present)
        {
            foreach (string file in CheckpointFiles) Assert.True(File.Exists(Path.Combine(folder, file)), $"{folder} lacks {file}");
            foreach (string file in Directory.GetFiles(folder, "*.safetensors")) using (SafetensorsFile.Open(file)) { }
            ConfigJson.Load(Path.Combine(folder, "config.json"));
        }
        long last = checkpoints.Complete()[^1].Step;
        output.WriteLine($"killed with checkpoints {string.Join(", ", present.Select(Path.GetFileName))}");

        var resumed = await CliProcess.RunAsync(Args(model, data, run, "--max-steps", (last + 3).ToString(System.Globalization.CultureInfo.InvariantCulture), "--save-steps", "1", "--resume"));
        Assert.True(resumed.Exit == 0, resumed.Err);
        long[] steps = [.. Log(run).Where(l => l.ContainsKey("loss")).Select(l => l["step"]!.GetValue<long>())];
        Assert.Equal(Enumerable.Range(1, (int)last + 3).Select(s => (long)s), steps);   // each step once: the killed run's later lines went
        Assert.Equal(last + 3, checkpoints.Complete()[^1].Step);
    }
}
