; Kotlin tags, for the grammar of the tree-sitter-kotlin wheel (1.x), where every name is an
; `identifier`. Interfaces and classes share one node type; the interface pattern comes first so
; that it wins when both match the same name.

(class_declaration
  "interface"
  name: (identifier) @name.definition.interface) @definition.interface

(class_declaration
  name: (identifier) @name.definition.class) @definition.class

(object_declaration
  name: (identifier) @name.definition.class) @definition.class

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(type_alias
  (identifier) @name.definition.type) @definition.type

(call_expression
  [(identifier) @name.reference.call
   (navigation_expression (identifier) @name.reference.call .)]) @reference.call

(user_type
  (identifier) @name.reference.type) @reference.type

; The imported name is the last segment: import a.b.helper → helper.
(import
  (qualified_identifier (identifier) @name.reference.import .)) @reference.import
