#!/usr/bin/env python3
"""Generate C++ message codecs from hako's own .spec files (see ../spec/FORMAT.md).

Python standard library only; run by CMake at build time. For every spec file
`<api>.spec` it writes `<api>.h` and `<api>.cc` into --out, plus `api_table.h/.cc`
(the list of APIs the codec knows) and `all.h`.

Each API becomes `namespace hako::protocol::<api>` with `struct request` and
`struct response`; every struct gets `encode(writer&, int16_t version)`,
`decode(reader&, int16_t version)`, `randomize(sample_source&, int16_t version)` (for
round-trip tests) and a defaulted `operator==`.
"""

import argparse
import os
import re
import sys

PRIMITIVES = {
    "bool": "bool",
    "int8": "std::int8_t",
    "int16": "std::int16_t",
    "int32": "std::int32_t",
    "int64": "std::int64_t",
    "uint16": "std::uint16_t",
    "uint32": "std::uint32_t",
    "float64": "double",
    "uuid": "::hako::protocol::uuid",
    "string": "std::string",
    "bytes": "std::string",
    "records": "::hako::protocol::shared_bytes",  # a slice of the request frame (no copy)
}
FIXED_RW = {
    "bool": "bool",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint16": "u16",
    "uint32": "u32",
    "float64": "f64",
    "uuid": "uuid",
}
CPP_KEYWORDS = {
    "default", "delete", "new", "operator", "class", "template", "namespace", "register",
    "union", "private", "public", "protected", "this", "throw", "true", "false", "int",
    "long", "short", "char", "double", "float", "bool", "auto", "const", "static", "struct",
    "switch", "case", "return", "void", "volatile", "virtual", "using", "typename",
    "explicit", "export", "friend", "inline", "mutable", "signed", "unsigned", "sizeof",
    "typedef", "while", "for", "do", "if", "else", "goto", "break", "continue", "try",
    "catch", "enum", "extern", "and", "or", "not", "xor", "version", "flex",
}
INF = 32767


class SpecError(Exception):
    pass


def parse_range(text, where):
    m = re.fullmatch(r"(\d+)(\+|-(\d+))?", text)
    if not m:
        raise SpecError(f"{where}: bad version range '{text}'")
    lo = int(m.group(1))
    if m.group(2) == "+":
        return (lo, INF)
    if m.group(3) is not None:
        hi = int(m.group(3))
        if hi < lo:
            raise SpecError(f"{where}: empty version range '{text}'")
        return (lo, hi)
    return (lo, lo)


class Field:
    def __init__(self, name, type_, versions, nullable, tag, default, where):
        self.name = name
        self.cpp_name = name + "_" if name in CPP_KEYWORDS else name
        self.type = type_
        self.versions = versions
        self.nullable = nullable  # (lo, hi) or None
        self.tag = tag
        self.default = default
        self.where = where
        self.children = []  # inline struct fields
        self.is_array = type_.startswith("[]")
        self.elem = type_[2:] if self.is_array else type_
        self.is_struct = self.elem not in PRIMITIVES
        self.struct = None  # resolved Struct


class Struct:
    def __init__(self, name, fields, where):
        self.name = name
        self.fields = fields
        self.where = where
        self.nested = []  # Structs defined inline under this one


class Spec:
    def __init__(self, path):
        self.path = path
        self.api_key = None
        self.name = None
        self.versions = None
        self.flexible = INF
        self.request = None
        self.response = None
        self.shared = {}


def tokenize(line):
    # split on whitespace, keeping "quoted strings" whole
    return re.findall(r'"[^"]*"|\S+', line)


def strip_comment(line):
    out, quoted = [], False
    for i, c in enumerate(line):
        if c == '"':
            quoted = not quoted
        if c == "#" and not quoted and (i == 0 or line[i - 1].isspace()):
            break
        out.append(c)
    return "".join(out).rstrip()


def parse_field(tokens, where):
    if len(tokens) < 2:
        raise SpecError(f"{where}: a field needs a name and a type")
    name, type_ = tokens[0], tokens[1]
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SpecError(f"{where}: field name '{name}' is not snake_case")
    versions, nullable, tag, default = None, None, None, None
    for t in tokens[2:]:
        if "=" in t:
            k, v = t.split("=", 1)
            if k == "null":
                nullable = parse_range(v, where)
            elif k == "tag":
                tag = int(v)
            elif k == "default":
                default = v
            else:
                raise SpecError(f"{where}: unknown attribute '{k}'")
        elif versions is None:
            versions = parse_range(t, where)
        else:
            raise SpecError(f"{where}: unexpected token '{t}'")
    return Field(name, type_, versions, nullable, tag, default, where)


def parse_spec(path):
    spec = Spec(path)
    base = os.path.basename(path)
    lines = []
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            if "\t" in raw:
                raise SpecError(f"{base}:{no}: tabs are not allowed, indent with spaces")
            line = strip_comment(raw)
            if line.strip():
                lines.append((no, len(line) - len(line.lstrip(" ")), line.strip()))

    i = 0
    while i < len(lines):
        no, indent, text = lines[i]
        where = f"{base}:{no}"
        if indent != 0:
            raise SpecError(f"{where}: expected a top-level line")
        toks = tokenize(text)
        if toks[0] == "api":
            if len(toks) != 7 or toks[3] != "versions" or toks[5] != "flexible":
                raise SpecError(f"{where}: expected 'api <key> <name> versions A-B flexible N+|none'")
            spec.api_key = int(toks[1])
            spec.name = toks[2]
            spec.versions = parse_range(toks[4], where)
            if toks[6] != "none":
                spec.flexible = parse_range(toks[6], where)[0]
            i += 1
            continue
        if toks[0] in ("request", "response", "struct"):
            if toks[0] == "struct":
                if len(toks) != 2:
                    raise SpecError(f"{where}: expected 'struct <name>'")
                sname = toks[1]
            else:
                sname = toks[0]
            i, fields = parse_block(lines, i + 1, 0, base)
            st = Struct(sname, fields, where)
            if toks[0] == "request":
                spec.request = st
            elif toks[0] == "response":
                spec.response = st
            else:
                spec.shared[sname] = st
            continue
        raise SpecError(f"{where}: unknown line '{text}'")
    if spec.name is None:
        raise SpecError(f"{base}: missing 'api' line")
    if spec.request is None or spec.response is None:
        raise SpecError(f"{base}: needs both a request and a response block")
    return spec


def parse_block(lines, i, parent_indent, base):
    fields = []
    child_indent = None
    while i < len(lines):
        no, indent, text = lines[i]
        if indent <= parent_indent:
            break
        if child_indent is None:
            child_indent = indent
        if indent != child_indent:
            raise SpecError(f"{base}:{no}: inconsistent indentation")
        f = parse_field(tokenize(text), f"{base}:{no}")
        i += 1
        if i < len(lines) and lines[i][1] > indent:
            i, f.children = parse_block(lines, i, indent, base)
        fields.append(f)
    return i, fields


def resolve(spec):
    """Link struct-typed fields to their Struct, checking names and versions."""

    def walk(st, lo_hi, scope_names):
        names = set()
        for f in st.fields:
            if f.name in names:
                raise SpecError(f"{f.where}: duplicate field '{f.name}'")
            names.add(f.name)
            if f.versions is None:
                f.versions = lo_hi
            if f.tag is not None and f.versions[0] < spec.flexible:
                raise SpecError(f"{f.where}: tagged field in non-flexible versions")
            if f.is_struct:
                if f.children:
                    sub = Struct(f.elem, f.children, f.where)
                    if f.elem in scope_names or f.elem in spec.shared:
                        raise SpecError(f"{f.where}: struct name '{f.elem}' defined twice")
                    scope_names.add(f.elem)
                    st.nested.append(sub)
                    f.struct = sub
                    walk(sub, f.versions, scope_names)
                elif f.elem in spec.shared:
                    f.struct = spec.shared[f.elem]
                else:
                    raise SpecError(f"{f.where}: unknown type '{f.type}'")
            elif f.children:
                raise SpecError(f"{f.where}: a primitive field cannot have children")
        # a nested type must not share its name with a member of the same struct, nor
        # with one of its own members (the member would hide the type inside it)
        for sub in st.nested:
            if sub.name in names or any(f.name == sub.name for f in sub.fields):
                sub.name = sub.name + "_t"

    all_v = spec.versions
    for s in spec.shared.values():
        walk(s, all_v, set())
        if any(f.name == s.name for f in s.fields):
            s.name = s.name + "_t"
    walk(spec.request, all_v, set())
    walk(spec.response, all_v, set())


# ---------------------------------------------------------------------------------------
# C++ emission


def vcond(rng, outer):
    """C++ condition for `version` within rng, omitting what the outer range implies."""
    lo, hi = rng
    parts = []
    if lo > outer[0]:
        parts.append(f"version >= {lo}")
    if hi < outer[1]:
        parts.append(f"version <= {hi}")
    return " && ".join(parts)


def is_nullable_type(f):
    return f.nullable is not None


def base_cpp_type(f):
    if f.is_struct:
        return f.struct.name
    return PRIMITIVES[f.elem]


def cpp_type(f):
    t = base_cpp_type(f)
    if f.is_array:
        t = f"std::vector<{t}>"
    if is_nullable_type(f):
        t = f"std::optional<{t}>"
    return t


def default_init(f):
    d = f.default
    if is_nullable_type(f):
        if d == "null":
            # `{}` rather than `= std::nullopt`: clang 14 would evaluate is_constructible
            # of a nested struct while the enclosing struct is incomplete (CWG 1397)
            return "{}"
        if d is None:
            # Kafka's default for a nullable field without one is the empty, non-null value
            return " = " + cpp_type(f) + "(std::in_place)"
        return " = " + cpp_type(f) + "(" + literal(f, d) + ")"
    if d is None:
        return "{}"
    return " = " + literal(f, d)


def nonnull_default(f):
    if f.default is not None and f.default != "null":
        return literal(f, f.default)
    return ""


def literal(f, d):
    if d in ("true", "false"):
        return d
    if d.startswith('"'):
        return f"std::string({d})"
    if f.elem == "float64":
        return d
    if re.fullmatch(r"-?\d+", d) or re.fullmatch(r"0x[0-9a-fA-F]+", d):
        if f.elem == "int64":
            return f"std::int64_t{{{d}LL}}" if not d.startswith("-") else f"std::int64_t{{{d}LL}}"
        if d == "-2147483648":
            return "std::int32_t{INT32_MIN}"
        return f"static_cast<{PRIMITIVES[f.elem]}>({d})"
    raise SpecError(f"{f.where}: unsupported default '{d}'")


def default_value_expr(f):
    """Expression equal to the field's default value (for tagged-field elision)."""
    init = default_init(f)
    if init == "{}":
        return cpp_type(f) + "{}"
    return init[3:]


class Emitter:
    def __init__(self, spec):
        self.spec = spec
        self.flex = spec.flexible
        taken = set(spec.shared) | {"request", "response"}
        for sh in spec.shared.values():
            taken.discard(sh.name)
            self.assign_flat_names(sh, sh.name, taken)
        for top in (spec.request, spec.response):
            taken.discard(top.name)
            self.assign_flat_names(top, top.name, taken)

    # -- declarations -------------------------------------------------------------------
    def assign_flat_names(self, st, flat, taken):
        """Nested structs are emitted at namespace scope (a nested class with default
        member initializers is not default-constructible until its enclosing class is
        complete, CWG 1397, which clang enforces) and aliased inside their parent."""
        base = flat
        n = 2
        while flat in taken:
            flat = f"{base}{n}"
            n += 1
        taken.add(flat)
        st.flat = flat
        for sub in st.nested:
            self.assign_flat_names(sub, f"{st.flat}_{sub.name}", taken)

    def decl_struct(self, st, indent=0):
        out = []
        for sub in st.nested:
            out += self.decl_struct(sub)
        out.append(f"struct {st.flat} {{")
        for sub in st.nested:
            out.append(f"    using {sub.name} = {sub.flat};")
        for f in st.fields:
            out.append(f"    {cpp_type(f)} {f.cpp_name}{default_init(f)};")
        out.append("    std::vector<::hako::protocol::tagged_field> unknown_tagged_fields;")
        out.append("")
        out.append("    void encode(::hako::protocol::writer& w, std::int16_t version) const;")
        out.append("    void decode(::hako::protocol::reader& r, std::int16_t version);")
        out.append("    void randomize(::hako::protocol::sample_source& s, std::int16_t version);")
        out.append(f"    bool operator==(const {st.flat}&) const = default;")
        out.append("};")
        out.append("")
        return out

    # -- encode -------------------------------------------------------------------------
    def enc_value(self, f, expr, elem_only=False):
        """Statements writing `expr` (the field value, or one array element)."""
        t = f.elem
        if f.is_array and not elem_only:
            val = f"(*{expr})" if is_nullable_type(f) else expr
            lines = []
            if is_nullable_type(f):
                lines.append(f"if (!{expr}) w.write_array_count(-1, flex); else {{")
            else:
                lines.append("{")
            lines.append(f"    w.write_array_count(static_cast<std::int64_t>({val}.size()), flex);")
            lines.append(f"    for (const auto& e : {val}) {{")
            lines += ["        " + x for x in self.enc_value(f, "e", elem_only=True)]
            lines.append("    }")
            lines.append("}")
            return lines
        nullable = is_nullable_type(f) and not f.is_array
        if f.is_struct:
            if nullable:
                # nullable structs: int8 -1 marker, else 1 then the struct
                return [f"if (!{expr}) w.write_i8(-1); else {{ w.write_i8(1); {expr}->encode(w, version); }}"]
            return [f"{expr}.encode(w, version);"]
        if t in FIXED_RW:
            return [f"w.write_{FIXED_RW[t]}({expr});"]
        kind = {"string": "string", "records": "records"}.get(t, "bytes")
        if nullable:
            return [f"w.write_nullable_{kind}({expr}, flex);"]
        return [f"w.write_{kind}({expr}, flex);"]

    def dec_value(self, f, target, elem_only=False, rd="r"):
        t = f.elem
        if f.is_array and not elem_only:
            et = base_cpp_type(f)
            lines = ["{", f"    auto n = {rd}.read_array_count(flex);"]
            if is_nullable_type(f):
                lines.append(f"    if (n < 0) {target}.reset(); else {{")
                lines.append(f"        auto& v = {target}.emplace();")
            else:
                lines.append("    if (n < 0) throw ::hako::protocol::decode_error(\"null array in a non-nullable field\");")
                lines.append("    {")
                lines.append(f"        auto& v = {target};")
                lines.append("        v.clear();")
            lines.append("        v.reserve(static_cast<std::size_t>(n));")
            lines.append("        for (std::int32_t i = 0; i < n; ++i) {")
            lines.append(f"            {et} e{{}};")
            lines += ["            " + x for x in self.dec_value(f, "e", elem_only=True, rd=rd)]
            lines.append("            v.push_back(std::move(e));")
            lines.append("        }")
            lines.append("    }")
            lines.append("}")
            return lines
        nullable = is_nullable_type(f) and not f.is_array
        if f.is_struct:
            if nullable:
                return [f"if ({rd}.read_i8() < 0) {target}.reset(); else {target}.emplace().decode({rd}, version);"]
            return [f"{target}.decode({rd}, version);"]
        if t in FIXED_RW:
            return [f"{target} = {rd}.read_{FIXED_RW[t]}();"]
        kind = {"string": "string", "records": "records"}.get(t, "bytes")
        if nullable:
            return [f"{target} = {rd}.read_nullable_{kind}(flex);"]
        return [f"{target} = {rd}.read_{kind}(flex);"]

    def rnd_value(self, f, target, elem_only=False):
        t = f.elem
        if f.is_array and not elem_only:
            lines = ["{"]
            if is_nullable_type(f):
                lines.append(f"    if ({self.null_ok(f)} && s.chance(4)) {{ {target}.reset(); }} else {{")
                lines.append(f"    auto& v = {target}.emplace();")
            else:
                lines.append("    {")
                lines.append(f"    auto& v = {target};")
            lines.append("    v.clear();")
            lines.append("    auto n = s.count();")
            lines.append("    for (std::size_t i = 0; i < n; ++i) {")
            lines.append(f"        {base_cpp_type(f)} e{{}};")
            lines += ["        " + x for x in self.rnd_value(f, "e", elem_only=True)]
            lines.append("        v.push_back(std::move(e));")
            lines.append("    }")
            lines.append("    }")
            lines.append("}")
            return lines
        nullable = is_nullable_type(f) and not f.is_array
        if f.is_struct:
            if nullable:
                return [f"if ({self.null_ok(f)} && s.chance(3)) {target}.reset(); else {target}.emplace().randomize(s, version);"]
            return [f"{target}.randomize(s, version);"]
        if t == "bool":
            return [f"{target} = s.chance(2);"]
        if t == "float64":
            return [f"{target} = static_cast<double>(s.next() % 100000) / 8.0;"]
        if t == "uuid":
            return [f"{target} = s.next_uuid();"]
        if t in FIXED_RW:
            return [f"{target} = static_cast<{PRIMITIVES[t]}>(s.next());"]
        if nullable:
            return [f"if ({self.null_ok(f)} && s.chance(4)) {target}.reset(); else {target} = s.next_string();"]
        return [f"{target} = s.next_string();"]

    def null_ok(self, f):
        c = vcond(f.nullable, self.spec.versions)
        return f"({c})" if c else "true"

    def def_struct(self, st, qual=""):
        name = st.flat
        out = []
        for sub in st.nested:
            out += self.def_struct(sub)
        outer = (self.spec.versions[0], self.spec.versions[1])
        flexc = f"version >= {self.flex}" if self.flex != INF else "false"
        regular = [f for f in st.fields if f.tag is None]
        tagged = sorted([f for f in st.fields if f.tag is not None], key=lambda f: f.tag)

        # encode
        out.append(f"void {name}::encode(::hako::protocol::writer& w, std::int16_t version) const {{")
        out.append(f"    [[maybe_unused]] const bool flex = {flexc};")
        for f in regular:
            c = vcond(f.versions, outer)
            body = self.enc_value(f, f.cpp_name)
            if c:
                out.append(f"    if ({c}) {{")
                out += ["        " + x for x in body]
                out.append("    }")
            else:
                out += ["    " + x for x in body]
        out.append("    if (flex) {")
        out.append("        std::vector<std::pair<std::uint32_t, std::string>> tags;")
        for f in tagged:
            c = vcond(f.versions, outer)
            cond = f"!({f.cpp_name} == {default_value_expr(f)})"
            if c:
                cond = f"({c}) && {cond}"
            out.append(f"        if ({cond}) {{")
            out.append("            ::hako::protocol::writer tw;")
            out.append("            {")
            out.append("                auto& w = tw;")
            out += ["                " + x for x in self.enc_value(f, f.cpp_name)]
            out.append("            }")
            out.append(f"            tags.emplace_back({f.tag}u, tw.take());")
            out.append("        }")
        out.append("        for (const auto& u : unknown_tagged_fields) tags.emplace_back(u.tag, u.data);")
        if tagged:
            out.append("        std::sort(tags.begin(), tags.end(), [](const auto& a, const auto& b) { return a.first < b.first; });")
        out.append("        w.write_uvarint(static_cast<std::uint32_t>(tags.size()));")
        out.append("        for (const auto& [tag, data] : tags) {")
        out.append("            w.write_uvarint(tag);")
        out.append("            w.write_uvarint(static_cast<std::uint32_t>(data.size()));")
        out.append("            w.write_raw(data);")
        out.append("        }")
        out.append("    }")
        out.append("}")
        out.append("")

        # decode
        out.append(f"void {name}::decode(::hako::protocol::reader& r, std::int16_t version) {{")
        out.append(f"    [[maybe_unused]] const bool flex = {flexc};")
        for f in regular:
            c = vcond(f.versions, outer)
            body = self.dec_value(f, f.cpp_name)
            if c:
                out.append(f"    if ({c}) {{")
                out += ["        " + x for x in body]
                out.append("    }")
            else:
                out += ["    " + x for x in body]
        out.append("    unknown_tagged_fields.clear();")
        out.append("    if (flex) {")
        out.append("        auto n = r.read_uvarint();")
        out.append("        if (n > r.remaining()) throw ::hako::protocol::decode_error(\"too many tagged fields\");")
        out.append("        for (std::uint32_t i = 0; i < n; ++i) {")
        out.append("            auto tag = r.read_uvarint();")
        out.append("            auto size = r.read_uvarint();")
        out.append("            auto data = r.take(size);")
        out.append("            [[maybe_unused]] ::hako::protocol::reader tr(data);")
        out.append("            switch (tag) {")
        for f in tagged:
            c = vcond(f.versions, outer)
            out.append(f"            case {f.tag}:")
            out.append(f"                if ({c or 'true'}) {{")
            out += ["                    " + x for x in self.dec_value(f, f.cpp_name, rd="tr")]
            out.append("                    continue;")
            out.append("                }")
            out.append("                break;")
        out.append("            default:")
        out.append("                break;")
        out.append("            }")
        out.append("            unknown_tagged_fields.push_back({tag, std::string(data)});")
        out.append("        }")
        out.append("    }")
        out.append("}")
        out.append("")

        # randomize
        out.append(f"void {name}::randomize(::hako::protocol::sample_source& s, std::int16_t version) {{")
        out.append(f"    [[maybe_unused]] const bool flex = {flexc};")
        for f in st.fields:
            c = vcond(f.versions, outer)
            body = self.rnd_value(f, f.cpp_name)
            if f.tag is not None:
                c = f"flex && s.chance(2)" + (f" && ({c})" if c else "")
            if c:
                out.append(f"    if ({c}) {{")
                out += ["        " + x for x in body]
                out.append("    }")
            else:
                out += ["    " + x for x in body]
        out.append("}")
        out.append("")
        return out

    def header(self):
        s = self.spec
        flex = s.flexible if s.flexible != INF else "-1"
        out = [
            "// Generated by src/protocol/gen/generate.py from " + os.path.basename(s.path) + ". Do not edit.",
            "#pragma once",
            "#include <cstdint>",
            "#include <optional>",
            "#include <string>",
            "#include <vector>",
            '#include "protocol/wire.h"',
            '#include "protocol/sample_source.h"',
            "",
            f"namespace hako::protocol::{s.name} {{",
            "",
            f"inline constexpr std::int16_t api_key = {s.api_key};",
            f"inline constexpr std::int16_t min_version = {s.versions[0]};",
            f"inline constexpr std::int16_t max_version = {s.versions[1]};",
            f"// first flexible version, -1 when the API has none",
            f"inline constexpr std::int16_t first_flexible_version = {flex};",
            "",
        ]
        for st in s.shared.values():
            out += self.decl_struct(st, 0)
            out.append("")
        out += self.decl_struct(s.request, 0)
        out.append("")
        out += self.decl_struct(s.response, 0)
        out.append("")
        out.append(f"}}  // namespace hako::protocol::{s.name}")
        return "\n".join(out) + "\n"

    def source(self):
        s = self.spec
        out = [
            "// Generated by src/protocol/gen/generate.py from " + os.path.basename(s.path) + ". Do not edit.",
            f'#include "hako/protocol/messages/{s.name}.h"',
            "#include <algorithm>",
            "#include <utility>",
            "",
            f"namespace hako::protocol::{s.name} {{",
            "",
        ]
        for st in s.shared.values():
            out += self.def_struct(st, "")
        out += self.def_struct(s.request, "")
        out += self.def_struct(s.response, "")
        out.append(f"}}  // namespace hako::protocol::{s.name}")
        return "\n".join(out) + "\n"


def write_if_changed(path, text):
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("specs", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    specs = []
    try:
        for p in sorted(args.specs):
            spec = parse_spec(p)
            resolve(spec)
            specs.append(spec)
    except SpecError as e:
        print(f"spec error: {e}", file=sys.stderr)
        return 1
    keys = {}
    for s in specs:
        if s.api_key in keys:
            print(f"spec error: api key {s.api_key} in both {keys[s.api_key]} and {s.name}", file=sys.stderr)
            return 1
        keys[s.api_key] = s.name
        e = Emitter(s)
        write_if_changed(os.path.join(args.out, s.name + ".h"), e.header())
        write_if_changed(os.path.join(args.out, s.name + ".cc"), e.source())

    by_key = sorted(specs, key=lambda s: s.api_key)
    table_h = [
        "// Generated by src/protocol/gen/generate.py. Do not edit.",
        "#pragma once",
        "#include <cstdint>",
        "#include <span>",
        "#include <string_view>",
        "",
        "namespace hako::protocol {",
        "",
        "// What the codec can encode and decode; the broker advertises a subset of it.",
        "struct api_info {",
        "    std::int16_t key;",
        "    std::string_view name;",
        "    std::int16_t min_version;",
        "    std::int16_t max_version;",
        "    std::int16_t first_flexible_version;  // -1: never flexible",
        "    bool is_flexible(std::int16_t v) const { return first_flexible_version >= 0 && v >= first_flexible_version; }",
        "};",
        "",
        "std::span<const api_info> all_apis();",
        "const api_info* find_api(std::int16_t key);",
        "",
        "}  // namespace hako::protocol",
    ]
    table_cc = [
        "// Generated by src/protocol/gen/generate.py. Do not edit.",
        '#include "hako/protocol/messages/api_table.h"',
        "#include <array>",
        "",
        "namespace hako::protocol {",
        "namespace {",
        f"constexpr std::array<api_info, {len(by_key)}> apis{{{{",
    ]
    for s in by_key:
        flex = s.flexible if s.flexible != INF else -1
        table_cc.append(f'    {{{s.api_key}, "{s.name}", {s.versions[0]}, {s.versions[1]}, {flex}}},')
    table_cc += [
        "}};",
        "}  // namespace",
        "",
        "std::span<const api_info> all_apis() { return apis; }",
        "",
        "const api_info* find_api(std::int16_t key) {",
        "    for (const auto& a : apis)",
        "        if (a.key == key) return &a;",
        "    return nullptr;",
        "}",
        "",
        "}  // namespace hako::protocol",
    ]
    write_if_changed(os.path.join(args.out, "api_table.h"), "\n".join(table_h) + "\n")
    write_if_changed(os.path.join(args.out, "api_table.cc"), "\n".join(table_cc) + "\n")
    all_h = ["// Generated. Do not edit.", "#pragma once", '#include "hako/protocol/messages/api_table.h"']
    all_h += [f'#include "hako/protocol/messages/{s.name}.h"' for s in by_key]
    all_h += ["", "// X(api) for every API the codec knows, e.g. to instantiate a test per API."]
    all_h += ["#define HAKO_FOR_EACH_API(X) \\"] + [f"    X({s.name}) \\" for s in by_key] + ["    /* end */"]
    write_if_changed(os.path.join(args.out, "all.h"), "\n".join(all_h) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
