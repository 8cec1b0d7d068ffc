namespace EncoderKit;

/// <summary>What kind of user-facing problem an <see cref="EncoderKitException"/> reports.</summary>
public enum ErrorKind
{
    /// <summary>A file or folder that should exist does not.</summary>
    MissingFile,
    /// <summary>A weights file (safetensors, shard index) is malformed or does not fit the model.</summary>
    BadCheckpoint,
    /// <summary>A JSON or text configuration file is malformed or holds an invalid value.</summary>
    BadConfig,
    /// <summary>The checkpoint's model family is not one EncoderKit carries.</summary>
    UnknownFamily,
    /// <summary>A tokenizer file is malformed or asks for something unsupported.</summary>
    BadTokenizer,
    /// <summary>The caller's input (text, ids, arguments) cannot be processed as given.</summary>
    BadInput,
    /// <summary>A download or cache operation failed.</summary>
    Hub,
    /// <summary>The hub cannot be reached at all (its name does not resolve, the connection is refused) and the cache cannot stand in.</summary>
    Unreachable,
}

/// <summary>
/// The one exception type for problems the user can fix: it names the file, the field or tensor,
/// and what is wrong. Anything else escaping the library is a bug.
/// </summary>
public sealed class EncoderKitException : Exception
{
    public EncoderKitException(ErrorKind kind, string problem, string? file = null, string? field = null, Exception? inner = null)
        : base(Compose(problem, file, field), inner)
    {
        Kind = kind;
        Problem = problem;
        File = file;
        Field = field;
    }

    public ErrorKind Kind { get; }

    /// <summary>The problem alone, without the place.</summary>
    public string Problem { get; }

    /// <summary>The file the problem is in, when there is one.</summary>
    public string? File { get; }

    /// <summary>The JSON field, tensor name or input position the problem is at, when there is one.</summary>
    public string? Field { get; }

    // "model.safetensors: encoder.layer.0.weight: shape [2, 3], expected [3, 3]"
    static string Compose(string problem, string? file, string? field) =>
        string.Join(": ", new[] { file, field, problem }.Where(p => !string.IsNullOrEmpty(p)));
}
