using System.Runtime.InteropServices;

namespace EncoderKit.Pretraining;

/// <summary>
/// Japanese word units from MeCab (Debian's libmecab.so.2, loaded at run time), as the TohokuNLP BERT recipe draws
/// its whole-word-masking units: with UniDic (package unidic-mecab) these are UniDic short units; with IPAdic
/// (mecab-ipadic-utf8) IPAdic words. One instance per thread: a MeCab tagger is not thread-safe.
/// </summary>
public sealed class MecabSegmenter : IDisposable
{
    const string Library = "libmecab.so.2";

    /// <summary>Where Debian's packages put the dictionaries, UniDic first.</summary>
    public static readonly IReadOnlyList<string> DictionaryFolders =
        ["/var/lib/mecab/dic/unidic", "/var/lib/mecab/dic/ipadic-utf8"];

    IntPtr tagger;

    MecabSegmenter(IntPtr tagger, string dictionary)
    {
        this.tagger = tagger;
        Dictionary = dictionary;
    }

    /// <summary>The dictionary folder in use.</summary>
    public string Dictionary { get; }

    /// <summary>
    /// A tagger with <paramref name="dictionary"/> (a folder holding sys.dic and dicrc), or the first of
    /// <see cref="DictionaryFolders"/> that exists.
    /// </summary>
    /// <exception cref="EncoderKitException">libmecab or a dictionary is not installed, or MeCab refuses the dictionary.</exception>
    public static MecabSegmenter Create(string? dictionary = null)
    {
        dictionary ??= DictionaryFolders.FirstOrDefault(d => File.Exists(Path.Combine(d, "sys.dic")))
            ?? throw new EncoderKitException(ErrorKind.MissingFile,
                $"no MeCab dictionary in {string.Join(", ", DictionaryFolders)}; install one: apt-get install libmecab2 unidic-mecab (or mecab-ipadic-utf8)");
        if (!File.Exists(Path.Combine(dictionary, "sys.dic")))
            throw new EncoderKitException(ErrorKind.MissingFile, "not a MeCab dictionary folder (no sys.dic)", dictionary);
        IntPtr handle;
        try
        {
            // -r /dev/null: no mecabrc needed (Debian's lives in the mecab-utils package); -d names the dictionary.
            handle = mecab_new2($"-r /dev/null -d {dictionary} -Owakati");
        }
        catch (DllNotFoundException e)
        {
            throw new EncoderKitException(ErrorKind.MissingFile, "libmecab.so.2 not found; install it: apt-get install libmecab2 unidic-mecab", Library, inner: e);
        }
        if (handle == IntPtr.Zero)
            throw new EncoderKitException(ErrorKind.BadInput, $"MeCab cannot open the dictionary: {Marshal.PtrToStringUTF8(mecab_strerror(IntPtr.Zero))}", dictionary);
        return new MecabSegmenter(handle, dictionary);
    }

    /// <summary>Every word MeCab finds, in order, as its [start, end) in UTF-16 indices into <paramref name="text"/>; whitespace belongs to no word.</summary>
    public List<(int Start, int End)> Words(string text)
    {
        ObjectDisposedException.ThrowIf(tagger == IntPtr.Zero, this);
        var words = new List<(int Start, int End)>();
        int lineStart = 0;
        // MeCab parses one sentence at a time; lines keep its input short and free of newlines.
        foreach (string line in text.Split('\n'))
        {
            if (line.AsSpan().Trim().Length > 0)
            {
                IntPtr result = mecab_sparse_tostr(tagger, line.Replace('\0', ' '));
                if (result == IntPtr.Zero)
                    throw new EncoderKitException(ErrorKind.BadInput, $"MeCab failed: {Marshal.PtrToStringUTF8(mecab_strerror(tagger))}");
                // Wakati output: the surfaces, separated by spaces; each is a substring of the line, in order.
                int cursor = 0;
                foreach (string surface in Marshal.PtrToStringUTF8(result)!.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries))
                {
                    int at = line.IndexOf(surface, cursor, StringComparison.Ordinal);
                    if (at < 0) continue;   // MeCab never rewrites a surface; a miss would only come from a control character
                    words.Add((lineStart + at, lineStart + at + surface.Length));
                    cursor = at + surface.Length;
                }
            }
            lineStart += line.Length + 1;
        }
        return words;
    }

    public void Dispose()
    {
        if (tagger == IntPtr.Zero) return;
        mecab_destroy(tagger);
        tagger = IntPtr.Zero;
    }

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    static extern IntPtr mecab_new2([MarshalAs(UnmanagedType.LPUTF8Str)] string arg);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    static extern IntPtr mecab_sparse_tostr(IntPtr mecab, [MarshalAs(UnmanagedType.LPUTF8Str)] string str);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    static extern IntPtr mecab_strerror(IntPtr mecab);

    [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
    static extern void mecab_destroy(IntPtr mecab);
}
