using System.Reflection;
using System.Reflection.Emit;

namespace TorchVisionModels.Tests;

/// <summary>
/// ARCHITECTURE.md's claim that the library's layers point one way, checked on the compiled code: every type a
/// namespace's code refers to (in signatures, fields, base types and method bodies) is of its own layer or one below.
/// </summary>
public class LayerTests
{
    // ARCHITECTURE.md's order, bottom first; namespaces of one rank do not refer to each other.
    static readonly Dictionary<string, int> Rank = new()
    {
        ["TorchVisionModels.Serialization"] = 0,
        ["TorchVisionModels.Transforms"] = 0,
        ["TorchVisionModels"] = 1,
        ["TorchVisionModels.Datasets"] = 2,
        ["TorchVisionModels.Onnx"] = 2,
        ["TorchVisionModels.Backbones"] = 3,
        ["TorchVisionModels.Training"] = 4,
        ["TorchVisionModels.Classification"] = 4,
    };

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    [Fact]
    public void EveryReferencePointsDownOrWithinItsLayer()
    {
        var assembly = typeof(ResNet).Assembly;
        var upward = assembly.GetTypes()
            .Where(t => t.Namespace is { } ns && Rank.ContainsKey(ns))
            .SelectMany(t => ReferencedTypes(t).Select(r => (from: t, to: r)))
            .Where(p => p.to.Assembly == assembly && p.to.Namespace is { } ns && Rank.ContainsKey(ns) && p.to.Namespace != p.from.Namespace
                && Rank[p.to.Namespace] >= Rank[p.from.Namespace!])
            .Select(p => $"{p.from.FullName} -> {p.to.FullName}")
            .Distinct()
            .ToList();
        Assert.True(upward.Count == 0, "References that point up or across a layer:\n" + string.Join("\n", upward));
    }

    [Fact]
    public void TheCheckSeesAReferenceInAMethodBody()
    {
        // ImageClassifier.Load calls ModelRunner.Create only in its body: the scan must find it.
        Assert.Contains(typeof(TorchVisionModels.Classification.ModelRunner), ReferencedTypes(typeof(TorchVisionModels.Classification.ImageClassifier)));
    }

    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    static IEnumerable<Type> ReferencedTypes(Type type)
    {
        var types = new List<Type?> { type.BaseType };
        types.AddRange(type.GetInterfaces());
        types.AddRange(type.GetFields(All).Select(f => f.FieldType));
        types.AddRange(type.GetProperties(All).Select(p => p.PropertyType));
        foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
        {
            types.AddRange(method.GetParameters().Select(p => p.ParameterType));
            if (method is MethodInfo info)
                types.Add(info.ReturnType);
            types.AddRange(BodyReferences(method));
        }
        return types.OfType<Type>().SelectMany(Unwrap).Distinct();
    }

    // Array, pointer, by-ref and generic types refer to their element types and arguments.
    static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.HasElementType)
            return Unwrap(type.GetElementType()!);
        if (type.IsGenericType && !type.IsGenericTypeDefinition)
            return type.GetGenericArguments().SelectMany(Unwrap).Append(type.GetGenericTypeDefinition());
        return [type];
    }

    /// <summary>The types a method's IL names: the declaring types of what it calls, creates and loads, and the types it names.</summary>
    static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
            yield break;
        var module = method.Module;
        var (typeArguments, methodArguments) = (method.DeclaringType?.GetGenericArguments(), method.IsGenericMethod ? method.GetGenericArguments() : null);
        for (var i = 0; i < il.Length;)
        {
            var code = il[i] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[i + 1])] : OpCodesByValue[il[i]];
            i += code.Size;
            if (code.OperandType is OperandType.InlineMethod or OperandType.InlineField or OperandType.InlineType or OperandType.InlineTok)
            {
                var member = module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments);
                yield return member as Type ?? member?.DeclaringType!;
                if (member is FieldInfo field)
                    yield return field.FieldType;
            }
            i += code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }
}
