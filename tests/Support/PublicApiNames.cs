using System.Reflection;
using System.Runtime.CompilerServices;

namespace TestSupport;

/// <summary>
/// CONTRIBUTING.md's naming rule, on an assembly's public API: a name in other than .NET casing (PascalCase types and
/// members, camelCase parameters) is one torch or torchvision has in Python, as the fixture generator lists them from
/// the libraries themselves (python_api_names.json).
/// </summary>
static class PublicApiNames
{
    public static readonly HashSet<string> PythonNames = [.. Fixtures.Strings(Fixtures.Json("python_api_names.json"))];

    const BindingFlags Declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every public name of <paramref name="assembly"/> that breaks the rule, with where it is.</summary>
    public static List<string> Offenders(Assembly assembly) => PublicNames(assembly)
        .Where(n => !(n.parameter ? IsCamelCase(n.name) : IsPascalCase(n.name)) && !PythonNames.Contains(n.name))
        .Select(n => $"{n.where}: {n.name}")
        .Distinct()
        .ToList();

    public static bool IsPascalCase(string name) => char.IsUpper(name[0]) && !name.Contains('_');

    public static bool IsCamelCase(string name) => char.IsLower(name[0]) && !name.Contains('_');

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
