; Kotlin tags. Interfaces and classes share one node type; the interface pattern comes
; first so that it wins when both match the same name.

(class_declaration
  "interface"
  (type_identifier) @name.definition.interface) @definition.interface

(class_declaration
  (type_identifier) @name.definition.class) @definition.class

(object_declaration
  (type_identifier) @name.definition.class) @definition.class

(function_declaration
  (simple_identifier) @name.definition.function) @definition.function

(type_alias
  (type_identifier) @name.definition.type) @definition.type

(call_expression
  [(simple_identifier) @name.reference.call
   (navigation_expression
     (navigation_suffix (simple_identifier) @name.reference.call))]) @reference.call

(user_type
  (type_identifier) @name.reference.type) @reference.type

; The imported name is the last segment: import a.b.helper → helper.
(import_header
  (identifier (simple_identifier) @name.reference.import .)) @reference.import
