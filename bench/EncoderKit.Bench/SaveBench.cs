using System.Diagnostics;
using EncoderKit.Compute;
using EncoderKit.IO;

namespace EncoderKit.Bench;

/// <summary>
/// Memory of EncoderModel.Save for a bert-base-sized model with an MLM head (random weights, ~433 MB in fp32): the peak
/// RSS above the loaded model while saving, against the model's size (a managed copy of every tensor would add
/// about 1×), the managed bytes allocated, and the time taken.
/// Usage: save [--config FILE] [--dtypes fp32,bf16] [--out FOLDER]
/// </summary>
static class SaveBench
{
    public static void Run(Arguments args)
    {
        ConfigJson config = args.Get("--config") is { } file ? ConfigJson.Load(file) : BertBaseForMaskedLM();
        string[] dtypes = args.Strings("--dtypes", ["fp32", "bf16"]);
        string root = args.Get("--out") ?? Directory.CreateTempSubdirectory("encoderkit-save-bench-").FullName;

        Console.WriteLine($"save: {config.File}, into {root}");
        Console.WriteLine($"{"dtype",-5} {"model MiB",10} {"file MiB",9} {"RSS before",11} {"peak during",12} {"peak delta",11} {"delta/model",12} {"managed MiB",12} {"seconds",8}");
        foreach (string dtype in dtypes)
        {
            var options = new ComputeOptions { Dtype = dtype == "bf16" ? ComputeDtype.BFloat16 : ComputeDtype.Float32 };
            using var model = EncoderModel.CreateRandom(config, options);
            double modelMiB = model.Network.parameters().Sum(p => p.NumberOfElements * p.ElementSize) / 1048576.0;
            string folder = Path.Combine(root, dtype);

            GC.Collect();
            double before = Measure.RssMiB();
            Measure.ResetPeakRss();
            long allocated = GC.GetAllocatedBytesForCurrentThread();
            var clock = Stopwatch.StartNew();
            model.Save(folder);
            double seconds = clock.Elapsed.TotalSeconds;
            double managedMiB = (GC.GetAllocatedBytesForCurrentThread() - allocated) / 1048576.0;
            double peak = Measure.PeakRssMiB(), delta = peak - before;
            double fileMiB = new FileInfo(Path.Combine(folder, CheckpointWeights.SingleFileName)).Length / 1048576.0;
            Console.WriteLine($"{dtype,-5} {modelMiB,10:F1} {fileMiB,9:F1} {before,11:F1} {peak,12:F1} {delta,11:F1} {delta / modelMiB,12:F3} {managedMiB,12:F2} {seconds,8:F2}");
        }
        if (args.Get("--out") is null) Directory.Delete(root, recursive: true);
    }

    // The MLM head adds the transform and decoder bias a pretraining checkpoint saves.
    static ConfigJson BertBaseForMaskedLM()
    {
        ConfigJson config = ConfigJson.Parse(ForwardBench.BertBase, "bert-base with an MLM head (built in)");
        config.Root["architectures"] = new System.Text.Json.Nodes.JsonArray("BertForMaskedLM");
        return config;
    }
}
