; Rust tags. An impl block is a @scope, not a definition: it qualifies the functions
; inside it (crate.mod.Type.method) without defining Type a second time.

(function_item
  name: (identifier) @name.definition.function) @definition.function

(function_signature_item
  name: (identifier) @name.definition.function) @definition.function

(struct_item
  name: (type_identifier) @name.definition.struct) @definition.struct

(union_item
  name: (type_identifier) @name.definition.struct) @definition.struct

(enum_item
  name: (type_identifier) @name.definition.enum) @definition.enum

(trait_item
  name: (type_identifier) @name.definition.interface) @definition.interface

(type_item
  name: (type_identifier) @name.definition.type) @definition.type

(mod_item
  name: (identifier) @name.definition.module) @definition.module

(macro_definition
  name: (identifier) @name.definition.macro) @definition.macro

(impl_item
  type: [(type_identifier) @name.scope
         (generic_type type: (type_identifier) @name.scope)
         (scoped_type_identifier name: (type_identifier) @name.scope)]) @scope

(call_expression
  function: (identifier) @name.reference.call) @reference.call

(call_expression
  function: (field_expression
    field: (field_identifier) @name.reference.call)) @reference.call

(call_expression
  function: (scoped_identifier
    name: (identifier) @name.reference.call)) @reference.call

(call_expression
  function: (generic_function
    function: [(identifier) @name.reference.call
               (scoped_identifier name: (identifier) @name.reference.call)
               (field_expression field: (field_identifier) @name.reference.call)])) @reference.call

(macro_invocation
  macro: (identifier) @name.reference.call) @reference.call

; Definition names are dropped from references by the chunker, so this broad pattern is safe.
((type_identifier) @name.reference.type @reference.type
 (#not-eq? @name.reference.type "Self"))

(use_declaration
  argument: [(identifier) @name.reference.import
             (scoped_identifier name: (identifier) @name.reference.import)
             (use_as_clause path: (scoped_identifier name: (identifier) @name.reference.import))
             (use_as_clause path: (identifier) @name.reference.import)
             (scoped_use_list
               list: (use_list
                 [(identifier) @name.reference.import
                  (scoped_identifier name: (identifier) @name.reference.import)]))
             (use_list
               [(identifier) @name.reference.import
                (scoped_identifier name: (identifier) @name.reference.import)])]) @reference.import

(use_declaration) @reference.import

(extern_crate_declaration
  name: (identifier) @name.reference.import) @reference.import
