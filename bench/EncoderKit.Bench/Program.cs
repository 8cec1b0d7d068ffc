using EncoderKit.Bench;

// Benchmarks print figures; they never pass or fail. Run with -c Release.
var benches = new Dictionary<string, Action<Arguments>>
{
    ["forward"] = ForwardBench.Run,
    ["tokenize"] = a => TokenizerBench.Run(a.Raw),
    ["families"] = FamilyBench.Run,
    ["embed"] = EmbedBench.Run,
    ["unpadded"] = UnpaddedBench.Run,
    ["pipelines"] = PipelineBench.Run,
    ["serve"] = ServeBench.Run,
    ["save"] = SaveBench.Run,
    ["fuzz"] = FuzzBench.Run,
    ["train"] = TrainBench.Run,
    ["train-embeddings"] = TrainEmbeddingsBench.Run,
    ["evaluate"] = EvaluateBench.Run,
    ["pretrain"] = PretrainBench.Run,
};
if (args.Length == 0 || !benches.TryGetValue(args[0], out var bench))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project bench/EncoderKit.Bench -- <{string.Join("|", benches.Keys)}> [options]");
    return 2;
}
bench(new Arguments(args[1..]));
return 0;
