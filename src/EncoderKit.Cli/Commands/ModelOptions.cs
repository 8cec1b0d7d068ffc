using System.CommandLine;
using EncoderKit.Compute;
using EncoderKit.Hub;

namespace EncoderKit.Cli.Commands;

/// <summary>The options every command that loads a model shares.</summary>
sealed class ModelOptions
{
    public Option<string> Model { get; } = new("--model", "-m") { Description = "Model folder, or hub id (org/name[@revision])", Required = true };
    public Option<string?> Revision { get; } = new("--revision") { Description = "Branch, tag or commit of a hub id (default: main)" };
    public Option<string> Device { get; } = new("--device") { Description = "cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
    public Option<string?> Dtype { get; } = new("--dtype") { Description = "Compute dtype: fp32 (CPU default) or bf16 (pays on CUDA and on CPUs with AVX512_BF16 or AMX; 10-100x slower elsewhere)" };
    public Option<bool> AllowPickle { get; } = new("--allow-pickle") { Description = "Allow pytorch_model.bin weights (read without running any code) when there are no safetensors" };
    public Option<int?> Threads { get; } = new("--threads") { Description = "libtorch intra-op threads, at most one per core (default: one per core)" };

    public void AddTo(Command command)
    {
        command.Options.Add(Model);
        command.Options.Add(Revision);
        command.Options.Add(Device);
        command.Options.Add(Dtype);
        command.Options.Add(Threads);
        command.Options.Add(AllowPickle);
    }

    /// <summary>Resolves --model (fetching a hub id, with progress bars on a terminal) and loads it.</summary>
    public async Task<EncoderModel> LoadAsync(ParseResult parsed, CliInvocation cli, CancellationToken cancellationToken)
    {
        bool allowPickle = parsed.GetValue(AllowPickle);
        string folder = await DownloadProgressView.ResolveAsync(cli, parsed.GetValue(Model)!, parsed.GetValue(Revision), cli.Hub(allowPickle), cancellationToken);
        return EncoderModel.Load(folder, Compute(parsed, cli), allowPickle);
    }

    public ComputeOptions Compute(ParseResult parsed, CliInvocation cli) => new()
    {
        Device = parsed.GetValue(Device)!,
        Threads = parsed.GetValue(Threads),
        Logger = cli.Notes,
        Dtype = parsed.GetValue(Dtype) switch
        {
            null => null,
            "fp32" or "float32" => ComputeDtype.Float32,
            "bf16" or "bfloat16" => ComputeDtype.BFloat16,
            var other => throw new EncoderKitException(ErrorKind.BadInput, $"unknown dtype '{other}' (use fp32 or bf16)", field: "--dtype"),
        },
    };
}
