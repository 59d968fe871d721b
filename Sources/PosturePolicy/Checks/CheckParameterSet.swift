/// A check's `with:` parameters as one typed value. `fields` declares each key once (its name,
/// type, minimum and whether it is required); a field of a non-optional type takes its default
/// from `Self()`, an optional one has none. Validation, `profiles show` and Profiles/README's
/// table read the specs derived from the fields, and the judge reads the typed value.
protocol CheckParameterSet: Sendable {
    init()
    static var fields: [ParameterField<Self>] { get }
}

extension CheckParameterSet {
    /// The typed value of validated parameters: each given (or defaulted) key assigned over `Self()`.
    init(_ parameters: CheckParameters) {
        self.init()
        for field in Self.fields {
            if let value = parameters.values[field.spec.name] { field.assign(&self, value) }
        }
    }
}

/// The parameter set of a check that takes none.
struct NoParameters: CheckParameterSet {
    static let fields: [ParameterField<Self>] = []
}

/// One `with:` key of a parameter set: its spec, and where its validated value goes.
struct ParameterField<Owner: CheckParameterSet>: Sendable {
    var spec: ParameterSpec
    var assign: @Sendable (inout Owner, ParameterValue) -> Void

    /// A key whose value is required, or else defaults to the field's value in `Owner()`.
    static func field<Value: ParameterType>(
        _ name: String, _ path: any WritableKeyPath<Owner, Value> & Sendable, minimum: Int = 0, required: Bool = false
    ) -> Self {
        let spec = ParameterSpec(
            name, Value.kind(minimum: minimum), required: required, default: required ? nil : Owner()[keyPath: path].parameterValue)
        return Self(spec: spec) { owner, value in
            if let value = Value(value) { owner[keyPath: path] = value }
        }
    }

    /// An optional key with no default: nil when the profile does not give it.
    static func field<Value: ParameterType>(_ name: String, _ path: any WritableKeyPath<Owner, Value?> & Sendable, minimum: Int = 0) -> Self {
        Self(spec: ParameterSpec(name, Value.kind(minimum: minimum))) { owner, value in
            if let value = Value(value) { owner[keyPath: path] = value }
        }
    }
}

/// A Swift type a check parameter can have, and its `ParameterValue` form.
protocol ParameterType: Sendable {
    static func kind(minimum: Int) -> ParameterSpec.Kind
    init?(_ value: ParameterValue)
    var parameterValue: ParameterValue { get }
}

extension Int: ParameterType {
    static func kind(minimum: Int) -> ParameterSpec.Kind { .int(minimum: minimum) }
    init?(_ value: ParameterValue) {
        guard case .int(let int) = value else { return nil }
        self = int
    }
    var parameterValue: ParameterValue { .int(self) }
}

extension Bool: ParameterType {
    static func kind(minimum: Int) -> ParameterSpec.Kind { .bool }
    init?(_ value: ParameterValue) {
        guard case .bool(let bool) = value else { return nil }
        self = bool
    }
    var parameterValue: ParameterValue { .bool(self) }
}

extension String: ParameterType {
    static func kind(minimum: Int) -> ParameterSpec.Kind { .string }
    init?(_ value: ParameterValue) {
        guard case .string(let string) = value else { return nil }
        self = string
    }
    var parameterValue: ParameterValue { .string(self) }
}

extension [String]: ParameterType {
    static func kind(minimum: Int) -> ParameterSpec.Kind { .strings }
    init?(_ value: ParameterValue) {
        guard case .strings(let strings) = value else { return nil }
        self = strings
    }
    var parameterValue: ParameterValue { .strings(self) }
}
