; PHP tags.

(class_declaration
  name: (name) @name.definition.class) @definition.class

(interface_declaration
  name: (name) @name.definition.interface) @definition.interface

(trait_declaration
  name: (name) @name.definition.trait) @definition.trait

(enum_declaration
  name: (name) @name.definition.enum) @definition.enum

(function_definition
  name: (name) @name.definition.function) @definition.function

(method_declaration
  name: (name) @name.definition.method) @definition.method

; Only a braced namespace encloses its definitions; "namespace A;" is a one-line statement.
(namespace_definition
  name: (namespace_name) @name.definition.module
  body: (compound_statement)) @definition.module

(function_call_expression
  function: [(name) @name.reference.call
             (qualified_name (name) @name.reference.call)]) @reference.call

(member_call_expression
  name: (name) @name.reference.call) @reference.call

(nullsafe_member_call_expression
  name: (name) @name.reference.call) @reference.call

(scoped_call_expression
  name: (name) @name.reference.call) @reference.call

(object_creation_expression
  [(name) @name.reference.call
   (qualified_name (name) @name.reference.call)]) @reference.call

(base_clause
  [(name) @name.reference.type
   (qualified_name (name) @name.reference.type)]) @reference.type

(class_interface_clause
  [(name) @name.reference.type
   (qualified_name (name) @name.reference.type)]) @reference.type

(namespace_use_declaration
  (namespace_use_clause
    [(name) @name.reference.import
     (qualified_name (name) @name.reference.import)])) @reference.import

(namespace_use_declaration) @reference.import

(expression_statement
  [(require_expression (string) @name.reference.import)
   (require_once_expression (string) @name.reference.import)
   (include_expression (string) @name.reference.import)
   (include_once_expression (string) @name.reference.import)]) @reference.import
