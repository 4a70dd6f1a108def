using System.Collections.Concurrent;
using System.Reflection;

namespace TorchVisionModels;

/// <summary>
/// An architecture's weights as data: torchvision's WeightsEnum class (<see cref="ResNet50_Weights"/>) seen without
/// its type, as <see cref="torchvision.models.get_model_weights"/> returns it.
/// </summary>
/// <param name="name">The weights class's name, such as ResNet50_Weights.</param>
/// <param name="Values">Every member, in torchvision's order.</param>
/// <param name="DEFAULT">The best of them.</param>
public sealed record WeightsEnum(string name, IReadOnlyList<Weights> Values, Weights DEFAULT)
{
    static readonly ConcurrentDictionary<Type, WeightsEnum> Enums = new();

    /// <summary>The enum of <typeparamref name="T"/>: its public static fields of its own type, in declaration order, and its DEFAULT.</summary>
    public static WeightsEnum Of<T>() where T : Weights<T> => Enums.GetOrAdd(typeof(T), static type => new(type.Name,
        [.. type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.FieldType == type).OrderBy(f => f.MetadataToken).Select(f => (Weights)f.GetValue(null)!)],
        (Weights)type.GetProperty(nameof(DEFAULT), BindingFlags.Public | BindingFlags.Static)!.GetValue(null)!));

    /// <summary>The member called <paramref name="member"/>: "DEFAULT", "IMAGENET1K_V1", ...</summary>
    /// <exception cref="ArgumentException">There is no such member; the message lists them.</exception>
    public Weights this[string member] => member == nameof(DEFAULT) ? DEFAULT
        : Values.FirstOrDefault(w => w.name == member)
          ?? throw new ArgumentException($"{name} has no weights {member}; it has DEFAULT, {string.Join(", ", Values.Select(w => w.name))}.", nameof(member));

    /// <summary>Checks that <paramref name="obj"/> is one of these weights (or null), as torchvision's builders do first.</summary>
    /// <exception cref="ArgumentException">They are another architecture's.</exception>
    public Weights? verify(Weights? obj) => obj is null || Values.Contains(obj) ? obj
        : throw new ArgumentException($"Invalid Weight class provided; expected {name} but received {obj.GetType().Name}.", nameof(obj));
}
