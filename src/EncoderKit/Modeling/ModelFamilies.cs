using EncoderKit.IO;
using EncoderKit.Modeling.Families;

namespace EncoderKit.Modeling;

/// <summary>The families EncoderKit carries, and recognition of a checkpoint's family from its config.json.</summary>
public static class ModelFamilies
{
    public static IReadOnlyList<IEncoderFamily> All { get; } = [new Bert(), new NomicBert(), new ModernBert(), new LlamaEncoder(), new RetrievaBert()];

    public static IEncoderFamily Recognize(ConfigJson config) =>
        All.FirstOrDefault(f => f.Recognizes(config))
        ?? throw new EncoderKitException(ErrorKind.UnknownFamily,
            $"model_type '{config.StringOrNull("model_type") ?? "(none)"}' (architectures: {string.Join(", ", config.Strings("architectures").DefaultIfEmpty("(none)"))}) is not a supported family; supported: {string.Join(", ", All.Select(f => f.Name))}",
            config.File, "model_type");
}
