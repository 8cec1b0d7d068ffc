namespace EncoderKit.IO;

/// <summary>Element sizes and the safetensors spelling of <see cref="TensorDtype"/>.</summary>
public static class TensorDtypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(this TensorDtype dtype) => dtype switch
    {
        TensorDtype.F64 or TensorDtype.I64 => 8,
        TensorDtype.F32 or TensorDtype.I32 => 4,
        TensorDtype.F16 or TensorDtype.BF16 or TensorDtype.I16 => 2,
        TensorDtype.I8 or TensorDtype.U8 or TensorDtype.BOOL => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null),
    };

    static readonly Dictionary<string, TensorDtype> ByName =
        Enum.GetValues<TensorDtype>().ToDictionary(d => d.ToString(), StringComparer.Ordinal);

    /// <summary>
    /// Reads a safetensors dtype name exactly as spelled in a header: "F32", not "f32" or "1", which
    /// <see cref="Enum.TryParse{TEnum}(string, out TEnum)"/> would also accept.
    /// </summary>
    public static bool TryParse(string name, out TensorDtype dtype) => ByName.TryGetValue(name, out dtype);

    /// <summary>The supported names, for error messages.</summary>
    public static string Supported { get; } = string.Join(", ", Enum.GetNames<TensorDtype>());
}
