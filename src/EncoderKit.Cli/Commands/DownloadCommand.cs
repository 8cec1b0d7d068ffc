using System.CommandLine;
using EncoderKit.Hub;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit download MODEL [--revision R]</c>: fetches a model into the hub cache (the one Python's
/// huggingface_hub uses) and prints its snapshot folder, so <c>$(encoderkit download ...)</c> is a model folder.
/// </summary>
static class DownloadCommand
{
    public static Command Create(CliInvocation cli)
    {
        var model = new Argument<string>("model") { Description = "A hub id: org/name, name, or org/name@revision" };
        var revision = new Option<string?>("--revision") { Description = "A branch, tag or commit (default: main)" };
        var allowPickle = new Option<bool>("--allow-pickle")
        {
            Description = "Fetch pytorch_model.bin when there are no safetensors (read later without running any code)",
        };
        var cacheDir = CacheDirOption();
        var command = new Command("download", "Fetch a model from the Hugging Face hub into the cache and print its folder")
        {
            model, revision, allowPickle, cacheDir,
        };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            HubOptions options = cli.Hub(parsed.GetValue(allowPickle), parsed.GetValue(cacheDir));
            string folder = await DownloadProgressView.ResolveAsync(cli, parsed.GetValue(model)!, parsed.GetValue(revision), options, cancellationToken);
            cli.Out.WriteLine(folder);
            return 0;
        });
        return command;
    }

    internal static Option<string?> CacheDirOption() =>
        new("--cache-dir") { Description = "The hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)" };
}
