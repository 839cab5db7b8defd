; Go tags. A method's receiver type is captured as @receiver so that the method is
; qualified as pkg.Type.Method although it is not nested in the type.

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [(type_identifier) @receiver
             (pointer_type (type_identifier) @receiver)
             (generic_type type: (type_identifier) @receiver)
             (pointer_type (generic_type type: (type_identifier) @receiver))]))
  name: (field_identifier) @name.definition.method) @definition.method

(type_spec
  name: (type_identifier) @name.definition.struct
  type: (struct_type)) @definition.struct

(type_spec
  name: (type_identifier) @name.definition.interface
  type: (interface_type)) @definition.interface

(type_spec
  name: (type_identifier) @name.definition.type
  type: [(type_identifier) (qualified_type) (map_type) (slice_type) (array_type)
         (pointer_type) (function_type) (channel_type) (generic_type)]) @definition.type

(type_alias
  name: (type_identifier) @name.definition.type) @definition.type

(method_elem
  name: (field_identifier) @name.definition.method) @definition.method

(call_expression
  function: (identifier) @name.reference.call) @reference.call

(call_expression
  function: (selector_expression
    field: (field_identifier) @name.reference.call)) @reference.call

; Definition names are dropped from references by the chunker, so this broad pattern is safe.
((type_identifier) @name.reference.type @reference.type
 (#not-match? @name.reference.type "^(any|bool|byte|comparable|complex64|complex128|error|float32|float64|int|int8|int16|int32|int64|rune|string|uint|uint8|uint16|uint32|uint64|uintptr)$"))

(import_declaration
  [(import_spec
     path: (interpreted_string_literal
       (interpreted_string_literal_content) @name.reference.import))
   (import_spec_list
     (import_spec
       path: (interpreted_string_literal
         (interpreted_string_literal_content) @name.reference.import)))]) @reference.import
