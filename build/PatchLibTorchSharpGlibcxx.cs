// MSBuild inline task (RoslynCodeTaskFactory): makes libLibTorchSharp.so loadable with a libstdc++ older than
// GCC 13's. Why, and why it is safe, is in LibTorchSharpGlibcxxFix.targets beside this file.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharpGlibcxx : Task
{
    const string Symbol = "_ZSt21ios_base_library_initv";
    const string MissingVersion = "GLIBCXX_3.4.32";
    const uint ShtDynsym = 11, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

    [Required] public string LibraryPath { get; set; } = "";

    public override bool Execute()
    {
        if (SystemLibstdcxxHas(MissingVersion))
        {
            Log.LogMessage(MessageImportance.Low, "libstdc++ provides " + MissingVersion + "; libLibTorchSharp.so left as shipped.");
            return true;
        }
        byte[] elf = File.ReadAllBytes(LibraryPath);
        string outcome = Patch(elf);
        if (outcome == "patched")
        {
            string temporary = LibraryPath + ".patching";
            File.WriteAllBytes(temporary, elf);
            File.Replace(temporary, LibraryPath, null); // a rename: a running process keeps its mapped copy
            Log.LogMessage(MessageImportance.Normal, "Patched " + LibraryPath + " for a libstdc++ without " + MissingVersion + ".");
        }
        else if (outcome != "already")
        {
            Log.LogWarning("libLibTorchSharp.so not patched: " + outcome + ". TorchSharp may fail to load on this system.");
        }
        return true;
    }

    static bool SystemLibstdcxxHas(string version)
    {
        string[] candidates =
        {
            "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libstdc++.so.6",
            "/usr/lib/aarch64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6",
        };
        byte[] needle = Encoding.ASCII.GetBytes(version + "\0");
        foreach (string path in candidates)
        {
            if (!File.Exists(path)) continue;
            return Contains(File.ReadAllBytes(path), needle);
        }
        return true; // no libstdc++ where we look: not a system we know how to fix, leave it alone
    }

    static bool Contains(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && haystack[i + j] == needle[j]) j++;
            if (j == needle.Length) return true;
        }
        return false;
    }

    struct Section { public uint Type; public long Offset; public long Size; public uint Link; public long EntSize; }

    // Returns "patched", "already" (nothing left to do) or the reason it could not patch.
    static string Patch(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            return "not an ELF file";
        if (elf[4] != 2 || elf[5] != 1) return "not a 64-bit little-endian ELF file";

        long shoff = (long)BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);
        var sections = new List<Section>();
        for (int i = 0; i < shnum; i++)
        {
            int at = checked((int)(shoff + (long)i * shentsize));
            sections.Add(new Section
            {
                Type = BitConverter.ToUInt32(elf, at + 4),
                Offset = (long)BitConverter.ToUInt64(elf, at + 24),
                Size = (long)BitConverter.ToUInt64(elf, at + 32),
                Link = BitConverter.ToUInt32(elf, at + 40),
                EntSize = (long)BitConverter.ToUInt64(elf, at + 56),
            });
        }
        Section? dynsym = sections.Find(s => s.Type == ShtDynsym);
        Section? versym = sections.Find(s => s.Type == ShtGnuVersym);
        Section? verneed = sections.Find(s => s.Type == ShtGnuVerneed);
        if (dynsym is null || versym is null || verneed is null) return "no dynamic symbol versioning sections";
        Section dynstr = sections[(int)dynsym.Value.Link];

        string StringAt(long offset)
        {
            int start = checked((int)(dynstr.Offset + offset)), end = start;
            while (elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, start, end - start);
        }

        long symbols = dynsym.Value.Size / dynsym.Value.EntSize;
        int target = -1;
        for (long i = 0; i < symbols; i++)
        {
            uint name = BitConverter.ToUInt32(elf, checked((int)(dynsym.Value.Offset + i * dynsym.Value.EntSize)));
            if (StringAt(name) == Symbol) { target = (int)i; break; }
        }
        if (target < 0) return "already";

        int versymAt = checked((int)(versym.Value.Offset + target * 2L));
        ushort versionIndex = (ushort)(BitConverter.ToUInt16(elf, versymAt) & 0x7fff);
        if (versionIndex <= 1) return "already";
        for (long i = 0; i < symbols; i++)
        {
            if (i != target && (BitConverter.ToUInt16(elf, checked((int)(versym.Value.Offset + i * 2))) & 0x7fff) == versionIndex)
                return "another symbol also needs version index " + versionIndex;
        }

        // Walk the version-needs entries for the auxiliary entry with that index.
        long need = verneed.Value.Offset;
        while (true)
        {
            int count = BitConverter.ToUInt16(elf, (int)need + 2);
            uint auxOffset = BitConverter.ToUInt32(elf, (int)need + 8), next = BitConverter.ToUInt32(elf, (int)need + 12);
            long aux = need + auxOffset;
            long targetAux = -1, replacementName = -1;
            for (int a = 0; a < count; a++)
            {
                ushort other = BitConverter.ToUInt16(elf, (int)aux + 6);
                uint nameOffset = BitConverter.ToUInt32(elf, (int)aux + 8);
                if (other == versionIndex) targetAux = aux;
                else if (StringAt(nameOffset).StartsWith("GLIBCXX_", StringComparison.Ordinal)) replacementName = nameOffset;
                aux += BitConverter.ToUInt32(elf, (int)aux + 12);
            }
            if (targetAux >= 0)
            {
                if (StringAt(BitConverter.ToUInt32(elf, (int)targetAux + 8)) != MissingVersion)
                    return "version index " + versionIndex + " is not " + MissingVersion;
                if (replacementName < 0) return "no other GLIBCXX version is required to stand in for " + MissingVersion;
                // Ask again for a version the library already needs: a requirement any loadable libstdc++ meets.
                BitConverter.GetBytes(ElfHash(StringAt(replacementName))).CopyTo(elf, (int)targetAux);
                BitConverter.GetBytes((uint)replacementName).CopyTo(elf, (int)targetAux + 8);
                BitConverter.GetBytes((ushort)1).CopyTo(elf, versymAt); // VER_NDX_GLOBAL: unversioned
                return "patched";
            }
            if (next == 0) return "no version-needs entry with index " + versionIndex;
            need += next;
        }
    }

    static uint ElfHash(string name)
    {
        uint h = 0;
        foreach (char c in name)
        {
            h = (h << 4) + c;
            uint g = h & 0xf0000000;
            if (g != 0) h ^= g >> 24;
            h &= ~g;
        }
        return h;
    }
}
