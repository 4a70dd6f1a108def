using System.Reflection;
using System.Runtime.CompilerServices;

namespace TorchVisionModels.Tests;

/// <summary>
/// CONTRIBUTING.md's naming rule, checked on the public API: a name in other than .NET casing (PascalCase types and
/// members, camelCase parameters) is one torch or torchvision has in Python, as the fixture generator lists them from
/// the libraries themselves.
/// </summary>
public class NamingTests
{
    static readonly HashSet<string> PythonNames = [.. Fixtures.Strings(Fixtures.Json("python_api_names.json"))];

    const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    [Fact]
    public void EveryPublicNameIsDotNetCasedOrTorchvisions()
    {
        var offenders = PublicNames(typeof(ResNet).Assembly).Concat(PublicNames(typeof(Inference.Cli).Assembly))
            .Where(n => !(n.parameter ? IsCamelCase(n.name) : IsPascalCase(n.name)) && !PythonNames.Contains(n.name))
            .Select(n => $"{n.where}: {n.name}")
            .Distinct()
            .ToList();
        Assert.True(offenders.Count == 0, "Neither .NET casing nor a name of torch's or torchvision's Python API:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheCheckFlagsAMisnamedMember()
    {
        // The rule itself, on names that break it: a snake_case .NET name and a Python name that torchvision lacks.
        Assert.False(IsPascalCase("pixel_count_total") || PythonNames.Contains("pixel_count_total"));
        Assert.False(IsCamelCase("batch_size_") || PythonNames.Contains("batch_size_"));
        Assert.True(PythonNames.Contains("zero_init_residual") && PythonNames.Contains("ResNet50_Weights") && PythonNames.Contains("load_state_dict"));
    }

    static bool IsPascalCase(string name) => char.IsUpper(name[0]) && !name.Contains('_');

    static bool IsCamelCase(string name) => char.IsLower(name[0]) && !name.Contains('_');

    static IEnumerable<(string where, string name, bool parameter)> PublicNames(Assembly assembly)
    {
        foreach (var type in assembly.GetExportedTypes().Where(t => !t.IsDefined(typeof(CompilerGeneratedAttribute))))
        {
            var typeName = type.Name.Split('`')[0];
            yield return (type.FullName!, typeName, false);
            foreach (var member in type.GetMembers(Declared).Where(m => !m.Name.Contains('<') && !m.Name.Contains('$') && !m.IsDefined(typeof(CompilerGeneratedAttribute))))
            {
                var where = $"{typeName}.{member.Name}";
                switch (member)
                {
                    case MethodBase method when method.IsSpecialName && !method.IsConstructor:
                        break; // property and event accessors, operators: their names come from the property or operator
                    case MethodBase method:
                        if (!method.IsConstructor && !Overrides(method))
                            yield return (where, method.Name, false);
                        // A record's positional parameters are its properties, named as properties are.
                        foreach (var parameter in method.GetParameters().Where(p => p.Name is not null && !Overrides(method)
                            && !(method.IsConstructor && type.GetProperty(p.Name, Declared) is not null)))
                            yield return ($"{where}({parameter.Name})", parameter.Name!, true);
                        break;
                    case FieldInfo { IsSpecialName: true }:
                        break; // an enum's value__
                    case Type:
                        break; // nested types are exported types of their own
                    default:
                        yield return (where, member.Name, false);
                        break;
                }
            }
        }
    }

    // An override takes its name and its parameters' names from the member it overrides (TorchSharp's forward(x), ...).
    static bool Overrides(MethodBase method) => method is MethodInfo info && info.GetBaseDefinition() != info;
}
