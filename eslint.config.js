// @ts-check
// `npm run lint`: ESLint with typescript-eslint's type-aware rules (a promise nobody awaits, a promise
// handed where nothing waits for it, a value or an expression nobody uses), then `prettier --check`
// for the layout. `npm run format` writes both fixes.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.local/', 'coverage/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The point of this lint: every promise awaited, returned or explicitly voided; none handed to
      // a callback slot whose result is ignored; nothing computed and dropped.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `_name` marks a deliberately unused parameter or binding; `{ pk, sk, ...rest }` drops keys.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `cond && list.push(x)` and `a ? f() : g()` as statements are this codebase's idiom.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // Off, deliberately:
      // - no-unsafe-*: they flag every use of an `any` from JSON.parse or an SDK's untyped output. Inputs
      //   are typed where they enter, by zod; the tests read JSON to compare it with expect.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // - require-await: an async method that implements a Promise-returning interface (a store, a fake
      //   in a test) need not await; the promise rules above catch the mistakes this one aims at.
      '@typescript-eslint/require-await': 'off',
      // - restrict-template-expressions, no-base-to-string: they flag every `${x}` and String(x) of a
      //   value typed unknown or Json (CloudFormation values, CSV cells, ids) after the code checked it.
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // - no-regex-spaces: the tests match aligned table columns; the literal spaces show the layout.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Plain Node modules (the `renewal` bin, the rehearsal's Lambda runtime): no type information.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        performance: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
  },
);
