using System.CommandLine;
using System.Globalization;
using EncoderKit.Hub;

namespace EncoderKit.Cli.Commands;

/// <summary>
/// <c>encoderkit cache list</c> and <c>encoderkit cache remove MODEL[@REVISION]</c>: what the hub cache holds
/// (models, sizes, revisions and the branches or tags on them), and taking a model or one revision out of it.
/// </summary>
static class CacheCommand
{
    public static Command Create(CliInvocation cli)
    {
        var cacheDir = DownloadCommand.CacheDirOption();

        var list = new Command("list", "List cached models with their size and revisions") { cacheDir };
        list.SetAction(parsed =>
        {
            TextWriter output = cli.Out;
            HubOptions options = cli.Hub(cacheDir: parsed.GetValue(cacheDir));
            IReadOnlyList<CachedModel> models = HubCache.List(options);
            if (models.Count == 0)
            {
                cli.Error.WriteLine($"no models in {HubCache.Folder(options)}");
                return 0;
            }
            int width = models.Max(m => m.RepoId.Length);
            foreach (CachedModel m in models)
            {
                output.WriteLine($"{m.RepoId.PadRight(width)}  {Size(m.Size),9}  {m.Revisions.Count} revision{(m.Revisions.Count == 1 ? "" : "s")}");
                foreach (CachedRevision r in m.Revisions)
                {
                    string refs = r.Refs.Count == 0 ? "(no branch or tag)" : string.Join(", ", r.Refs);
                    output.WriteLine($"  {r.Commit[..Math.Min(12, r.Commit.Length)]}  {Size(r.Size),9}  {r.Files,3} files  {refs}");
                }
            }
            return 0;
        });

        var model = new Argument<string>("model") { Description = "org/name to remove the model, org/name@revision to remove one revision" };
        var remove = new Command("remove", "Remove a model, or one revision of it, from the cache") { model, cacheDir };
        remove.SetAction(parsed =>
        {
            string name = parsed.GetValue(model)!;
            long freed = HubCache.Remove(name, cli.Hub(cacheDir: parsed.GetValue(cacheDir)));
            cli.Out.WriteLine($"removed {name} ({Size(freed)})");
            return 0;
        });

        return new Command("cache", "Look into and clean the Hugging Face hub cache") { list, remove };
    }

    /// <summary>Decimal units, as huggingface-cli prints them.</summary>
    internal static string Size(long bytes)
    {
        string[] units = ["B", "kB", "MB", "GB", "TB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1000 && unit < units.Length - 1) { value /= 1000; unit++; }
        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + units[unit];
    }
}
